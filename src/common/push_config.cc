#include "common/push_config.h"

#include <algorithm>

#include "common/push_config_toml.h"

namespace flare {
namespace {

const std::map<std::string, std::vector<std::string>>& Keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"apns",
       {"endpoint", "team_id", "key_id", "key_file", "topic", "ca_file", "priority",
        "token_refresh_s"}},
      {"fcm", {"endpoint", "service_account_file", "ca_file"}},
      {"webhook", {"url", "secret", "ca_file"}},
  };
  return keys;
}

// One `<provider> = { key = value, ... }` table into `settings`.
Status ParseProvider(const std::string& where, const toml::node& node,
                     PushProviderSettings& settings) {
  const auto* table = node.as_table();
  if (table == nullptr) return InvalidArgument("config key '" + where + "' must be a table");
  for (const auto& [name, value] : *table) {
    std::string key = std::string(name.str());
    if (auto s = value.value<std::string>(); value.is_string() && s) {
      settings[key] = *s;
    } else if (auto i = value.value<int64_t>(); value.is_integer() && i) {
      settings[key] = std::to_string(*i);
    } else {
      return InvalidArgument("config key '" + where + "." + key + "' must be a string or integer");
    }
  }
  return Status::Ok();
}

Status ParseTenant(const std::string& where, const std::string& tenant, const toml::node& node,
                   PushProvidersConfig& out) {
  const auto* table = node.as_table();
  if (table == nullptr) return InvalidArgument("config key '" + where + "' must be a table");
  for (const auto& [name, provider_node] : *table) {
    std::string provider = std::string(name.str());
    std::string at = where + "." + provider;
    PushProviderSettings& settings = out.by_tenant[tenant][provider];
    FLARE_RETURN_IF_ERROR(ParseProvider(at, provider_node, settings));
    FLARE_RETURN_IF_ERROR(ValidatePushProviderTable(at, provider, settings));
  }
  return Status::Ok();
}

}  // namespace

std::optional<PushProviderSettings> PushProvidersConfig::For(const std::string& tenant,
                                                             const std::string& provider) const {
  std::optional<PushProviderSettings> merged;
  for (const std::string& t : {std::string(kDefaultTenant), tenant}) {
    auto by = by_tenant.find(t);
    if (by == by_tenant.end()) continue;
    auto it = by->second.find(provider);
    if (it == by->second.end()) continue;
    if (!merged) merged.emplace();
    for (const auto& [k, v] : it->second) (*merged)[k] = v;
  }
  return merged;
}

std::vector<std::string> PushProvidersConfig::TenantsOverriding(const std::string& provider) const {
  std::vector<std::string> out;
  for (const auto& [tenant, providers] : by_tenant) {
    if (tenant != kDefaultTenant && providers.count(provider) > 0) out.push_back(tenant);
  }
  return out;
}

const std::vector<std::string>& KnownPushProviders() {
  static const std::vector<std::string> names = {"apns", "fcm", "webhook"};
  return names;
}

const std::vector<std::string>& PushProviderKeys(const std::string& provider) {
  static const std::vector<std::string> none;
  auto it = Keys().find(provider);
  return it == Keys().end() ? none : it->second;
}

Status ValidatePushProviderTable(const std::string& where, const std::string& provider,
                                 const PushProviderSettings& settings) {
  auto it = Keys().find(provider);
  if (it == Keys().end()) {
    return InvalidArgument("config key '" + where + "': unknown push provider '" + provider +
                           "' (apns, fcm, webhook)");
  }
  for (const auto& [key, value] : settings) {
    if (std::find(it->second.begin(), it->second.end(), key) == it->second.end()) {
      return InvalidArgument("unknown config key '" + where + "." + key + "'");
    }
  }
  return Status::Ok();
}

Status ParsePushProviderTables(const std::string& key, const toml::node& node,
                               PushProvidersConfig& out) {
  if (key == "push.providers") {
    return ParseTenant(key, PushProvidersConfig::kDefaultTenant, node, out);
  }
  const auto* tenants = node.as_table();
  if (tenants == nullptr) return InvalidArgument("config key '" + key + "' must be a table");
  for (const auto& [tenant, providers] : *tenants) {
    std::string name = std::string(tenant.str());
    FLARE_RETURN_IF_ERROR(ParseTenant(key + "." + name, name, providers, out));
  }
  return Status::Ok();
}

}  // namespace flare
