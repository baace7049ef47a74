// A tenant's media limits: the largest object and the MIME types allowed.
// Defaults come from config (media.max_bytes, media.allowed_types); a
// tenant's overrides are one JSON document in the SettingsStore under
// "media_limits/<tenant>", e.g. {"max_bytes": 1048576, "allowed_types":
// "image/*"}, shared by every process. A field left out keeps the
// default; max_bytes is never above media.max_bytes (the deployment's cap).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ports/settings_store.h"

namespace flare {

struct MediaLimits {
  int64_t max_bytes = 0;
  std::vector<std::string> allowed_types;  // patterns: "image/*", "application/pdf"
};

// What an admin sets for one tenant; unset fields fall back to the defaults.
struct TenantMediaLimits {
  std::optional<int64_t> max_bytes;
  std::optional<std::string> allowed_types;  // comma-separated, as media.allowed_types
};

std::string EncodeTenantMediaLimits(const TenantMediaLimits& limits);
Result<TenantMediaLimits> DecodeTenantMediaLimits(const std::string& json);

class MediaLimitsBook {
 public:
  // `default_types`: media.allowed_types, checked by the caller.
  MediaLimitsBook(SettingsStore& settings, int64_t default_max_bytes,
                  std::vector<std::string> default_types)
      : settings_(settings),
        default_max_bytes_(default_max_bytes),
        default_types_(std::move(default_types)) {}

  static std::string KeyOf(const std::string& tenant) { return "media_limits/" + tenant; }

  // The limits in force for `tenant`. A stored document that does not
  // decode is an error (kInternal naming the key), not silently ignored.
  Result<MediaLimits> For(const std::string& tenant);
  // The tenant's overrides as stored (all unset when none).
  Result<TenantMediaLimits> OverridesOf(const std::string& tenant);
  // Saves `limits` as the tenant's overrides (replacing earlier ones;
  // all unset: back to the defaults). kInvalidArgument for max_bytes < 1
  // or a bad type list; retried when another writer saved at the same time.
  Status Set(const std::string& tenant, const TenantMediaLimits& limits);

 private:
  SettingsStore& settings_;
  const int64_t default_max_bytes_;
  const std::vector<std::string> default_types_;
};

}  // namespace flare
