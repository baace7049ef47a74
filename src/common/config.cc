#include "common/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>

#include "common/config_keys.h"
#include "common/endpoints.h"
#include "common/hook_config_toml.h"
#include "common/push_config_toml.h"

extern char** environ;

namespace flare {
namespace {

using config_internal::KeyDef;
using config_internal::Keys;

// The seed's environment variables and the keys they set (a FLARE_*
// variable for the same key is applied after them and wins).
const std::map<std::string, std::string> kSeedEnvironment = {
    {"CONSUL_ENDPOINTS", "discovery.consul.url"},
    {"KAFKA_BOOTSTRAP_SERVERS", "bus.kafka.brokers"},
};

const KeyDef* FindKey(const std::string& key) {
  for (const auto& def : Keys()) {
    if (key == def.key) return &def;
  }
  return nullptr;
}

Status SetInt(Config& config, const KeyDef& def, int64_t value) {
  if (value < def.min || value > def.max) {
    return InvalidArgument("config key '" + std::string(def.key) + "': " + std::to_string(value) +
                           " is outside [" + std::to_string(def.min) + ", " +
                           std::to_string(def.max) + "]");
  }
  config.*def.int_field = value;
  return Status::Ok();
}

Status SetString(Config& config, const KeyDef& def, const std::string& value) {
  if (!def.choices.empty()) {
    bool found = false;
    std::string allowed;
    for (const auto& c : def.choices) {
      found |= c == value;
      allowed += (allowed.empty() ? "" : ", ") + c;
    }
    if (!found) {
      return InvalidArgument("config key '" + std::string(def.key) + "': '" + value +
                             "' is not one of " + allowed);
    }
  }
  if (def.check != nullptr) {
    Status st = def.check(value);
    if (!st.ok())
      return InvalidArgument("config key '" + std::string(def.key) + "': " + st.message());
  }
  config.*def.string_field = value;
  return Status::Ok();
}

Status SetServices(Config& config, const KeyDef& def, ServiceEndpoints services) {
  Status st = CheckServiceEndpoints(services);
  if (!st.ok())
    return InvalidArgument("config key '" + std::string(def.key) + "': " + st.message());
  config.*def.services_field = std::move(services);
  return Status::Ok();
}

// [key] name = ["host:port", ...] per service.
Status ApplyServicesTable(Config& config, const KeyDef& def, const toml::node& node) {
  const std::string key = def.key;
  const auto* table = node.as_table();
  if (table == nullptr) return InvalidArgument("config key '" + key + "' must be a table");
  ServiceEndpoints services;
  for (const auto& [name, endpoints] : *table) {
    const auto* array = endpoints.as_array();
    auto& list = services[std::string(name.str())];
    for (size_t i = 0; array != nullptr && i < array->size(); ++i) {
      auto endpoint = array->get(i)->value<std::string>();
      if (!array->get(i)->is_string() || !endpoint) break;
      list.push_back(*endpoint);
    }
    if (array == nullptr || list.size() != array->size()) {
      return InvalidArgument("config key '" + key + "." + std::string(name.str()) +
                             "' must be an array of \"host:port\" strings");
    }
  }
  return SetServices(config, def, std::move(services));
}

Status ApplyTomlNode(Config& config, const std::string& key, const toml::node& node) {
  const KeyDef* def = FindKey(key);
  if (def == nullptr) return InvalidArgument("unknown config key '" + key + "'");
  if (def->services_field != nullptr) return ApplyServicesTable(config, *def, node);
  if (def->int_field != nullptr) {
    auto v = node.value<int64_t>();
    if (!node.is_integer() || !v)
      return InvalidArgument("config key '" + key + "' must be an integer");
    return SetInt(config, *def, *v);
  }
  // A flag (a string key of "true"/"false") may be a TOML boolean.
  if (node.is_boolean() && def->choices == std::vector<std::string>{"true", "false"}) {
    return SetString(config, *def, *node.value<bool>() ? "true" : "false");
  }
  auto v = node.value<std::string>();
  if (!node.is_string() || !v) return InvalidArgument("config key '" + key + "' must be a string");
  return SetString(config, *def, *v);
}

Status ApplyTable(Config& config, const toml::table& table, const std::string& prefix) {
  for (const auto& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (key == "hooks") {  // [[hooks]]: an array of tables, not a key
      auto hooks = ParseHookTables(node);
      if (!hooks.ok()) return hooks.status();
      config.hooks = std::move(hooks).value();
      continue;
    }
    if (key == "push.providers" || key == "push.tenants") {  // tables of provider tables
      FLARE_RETURN_IF_ERROR(ParsePushProviderTables(key, node, config.push_providers));
      continue;
    }
    const KeyDef* def = FindKey(key);
    bool table_valued = def != nullptr && def->services_field != nullptr;
    if (const auto* sub = node.as_table(); sub != nullptr && !table_valued) {
      FLARE_RETURN_IF_ERROR(ApplyTable(config, *sub, key));
    } else {
      FLARE_RETURN_IF_ERROR(ApplyTomlNode(config, key, node));
    }
  }
  return Status::Ok();
}

// FLARE_SERVER_HTTP_PORT -> server.http_port: the declared key whose
// upper-cased name with '.' as '_' matches (so FLARE_PRESENCE_REDIS_URL is
// presence.redis.url); otherwise the first '_' after the prefix separates
// section from key.
std::string EnvToKey(const std::string& env_name) {
  std::string rest = env_name.substr(6);
  for (const auto& def : Keys()) {
    std::string spelled;
    for (const char* c = def.key; *c != 0; ++c) {
      spelled += *c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    }
    if (spelled == rest) return def.key;
  }
  std::string key;
  bool dotted = false;
  for (char c : rest) {
    if (c == '_' && !dotted) {
      key += '.';
      dotted = true;
    } else {
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return key;
}

}  // namespace

std::vector<ConfigKeyInfo> ListConfigKeys() {
  std::vector<ConfigKeyInfo> out;
  for (const auto& def : Keys()) {
    const char* type = def.int_field ? "int" : def.services_field ? "services" : "string";
    out.push_back({def.key, type, def.description});
  }
  return out;
}

Status SetConfigValue(Config& config, const std::string& key, const std::string& value) {
  const KeyDef* def = FindKey(key);
  if (def == nullptr) return InvalidArgument("unknown config key '" + key + "'");
  if (def->string_field != nullptr) return SetString(config, *def, value);
  if (def->services_field != nullptr) {
    auto services = ParseServiceEndpoints(value);
    if (!services.ok()) {
      return InvalidArgument("config key '" + key + "': " + services.status().message());
    }
    return SetServices(config, *def, std::move(services).value());
  }
  int64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || ptr != value.data() + value.size()) {
    return InvalidArgument("config key '" + key + "': '" + value + "' is not an integer");
  }
  return SetInt(config, *def, parsed);
}

Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env) {
  Config config;
  if (!path.empty()) {
    toml::table parsed;
    try {  // Debian builds toml++ with exceptions; keep them inside this function
      parsed = toml::parse_file(path);
    } catch (const toml::parse_error& err) {
      return InvalidArgument("config file '" + path + "' line " +
                             std::to_string(err.source().begin.line) + ": " +
                             std::string(err.description()));
    }
    FLARE_RETURN_IF_ERROR(ApplyTable(config, parsed, ""));
  }
  for (const auto& [name, key] : kSeedEnvironment) {
    auto it = env.find(name);
    if (it == env.end()) continue;
    Status st = SetConfigValue(config, key, it->second);
    if (!st.ok()) return Status(st.code(), "environment " + it->first + ": " + st.message());
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("FLARE_", 0) != 0) continue;
    Status st = SetConfigValue(config, EnvToKey(name), value);
    if (!st.ok()) return Status(st.code(), "environment " + name + ": " + st.message());
  }
  if (config.sync_default_limit > config.sync_max_limit) {
    return InvalidArgument("config key 'sync.default_limit' exceeds 'sync.max_limit'");
  }
  if (config.bus_kafka_heartbeat_interval_ms >= config.bus_kafka_session_timeout_ms) {
    return InvalidArgument(
        "config key 'bus.kafka.heartbeat_interval_ms' must be below "
        "'bus.kafka.session_timeout_ms'");
  }
  if (config.push_offline_unacked_resends > config.max_resends) {
    // The connection would be closed as a slow consumer before the report.
    return InvalidArgument(
        "config key 'push.offline_unacked_resends' exceeds 'gateway.max_resends'");
  }
  if (config.push_worker_initial_backoff_ms > config.push_worker_max_backoff_ms) {
    return InvalidArgument(
        "config key 'push.worker.initial_backoff_ms' exceeds 'push.worker.max_backoff_ms'");
  }
  if (config.rpc_retry_initial_backoff_ms > config.rpc_retry_max_backoff_ms) {
    return InvalidArgument(
        "config key 'rpc.retry.initial_backoff_ms' exceeds 'rpc.retry.max_backoff_ms'");
  }
  return config;
}

std::map<std::string, std::string> FlareEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (name.rfind("FLARE_", 0) != 0 && kSeedEnvironment.count(name) == 0) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

}  // namespace flare
