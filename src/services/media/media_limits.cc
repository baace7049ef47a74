#include "services/media/media_limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "services/media/mime_sniff.h"

namespace flare {

std::string EncodeTenantMediaLimits(const TenantMediaLimits& limits) {
  nlohmann::json doc = nlohmann::json::object();
  if (limits.max_bytes) doc["max_bytes"] = *limits.max_bytes;
  if (limits.allowed_types) doc["allowed_types"] = *limits.allowed_types;
  return doc.dump();
}

Result<TenantMediaLimits> DecodeTenantMediaLimits(const std::string& json) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return InvalidArgument("media limits are not a JSON object");
  TenantMediaLimits limits;
  if (auto it = doc.find("max_bytes"); it != doc.end()) {
    if (!it->is_number_integer()) return InvalidArgument("media limits: max_bytes not an integer");
    limits.max_bytes = it->get<int64_t>();
  }
  if (auto it = doc.find("allowed_types"); it != doc.end()) {
    if (!it->is_string()) return InvalidArgument("media limits: allowed_types not a string");
    limits.allowed_types = it->get<std::string>();
  }
  return limits;
}

Result<TenantMediaLimits> MediaLimitsBook::OverridesOf(const std::string& tenant) {
  auto doc = settings_.Get(KeyOf(tenant));
  if (!doc.ok()) return doc.status();
  if (doc->version == 0) return TenantMediaLimits{};
  auto limits = DecodeTenantMediaLimits(doc->value);
  if (!limits.ok())
    return Internal("settings '" + KeyOf(tenant) + "': " + limits.status().message());
  return limits;
}

Result<MediaLimits> MediaLimitsBook::For(const std::string& tenant) {
  auto overrides = OverridesOf(tenant);
  if (!overrides.ok()) return overrides.status();
  MediaLimits limits{default_max_bytes_, default_types_};
  if (overrides->max_bytes) limits.max_bytes = std::min(*overrides->max_bytes, default_max_bytes_);
  if (overrides->allowed_types) {
    auto types = ParseMimePatterns(*overrides->allowed_types);
    if (!types.ok())
      return Internal("settings '" + KeyOf(tenant) + "': " + types.status().message());
    limits.allowed_types = std::move(types).value();
  }
  return limits;
}

Status MediaLimitsBook::Set(const std::string& tenant, const TenantMediaLimits& limits) {
  if (limits.max_bytes && *limits.max_bytes < 1) {
    return InvalidArgument("media limits: max_bytes must be at least 1");
  }
  if (limits.allowed_types) {
    auto types = ParseMimePatterns(*limits.allowed_types);
    if (!types.ok()) return types.status();
  }
  const std::string value = EncodeTenantMediaLimits(limits);
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto current = settings_.Get(KeyOf(tenant));
    if (!current.ok()) return current.status();
    auto saved = settings_.Put(KeyOf(tenant), current->version, value);
    if (saved.ok()) return Status::Ok();
    if (saved.status().code() != Code::kAborted) return saved.status();
  }
  return Aborted("media limits of tenant " + tenant + ": other writers kept saving first");
}

}  // namespace flare
