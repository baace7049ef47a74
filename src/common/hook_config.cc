#include "common/hook_config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/hook_config_toml.h"

namespace flare {
namespace {

const std::vector<std::string> kConversationTypes = {"single", "group", "channel"};
const std::vector<std::string> kMessageTypes = {"text", "image",    "audio", "video",
                                                "file", "location", "card",  "custom"};

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

Status HookError(const HookConfig& hook, const std::string& key, const std::string& what) {
  return InvalidArgument("hook '" + hook.name + "': key '" + key + "' " + what);
}

Status CheckRange(const HookConfig& hook, const char* key, int64_t v, int64_t min, int64_t max) {
  if (v >= min && v <= max) return Status::Ok();
  return HookError(
      hook, key,
      std::to_string(v) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

Status CheckChoices(const HookConfig& hook, const char* key, const std::vector<std::string>& values,
                    const std::vector<std::string>& allowed) {
  for (const auto& v : values) {
    if (!Contains(allowed, v)) return HookError(hook, key, "has an unknown value '" + v + "'");
  }
  return Status::Ok();
}

// Integer keys of a hook table with their bounds (declared once, here).
struct IntKey {
  const char* key;
  int64_t HookConfig::*field;
  int64_t min, max;
};
const IntKey kIntKeys[] = {
    {"priority", &HookConfig::priority, -1'000'000, 1'000'000},
    {"timeout_ms", &HookConfig::timeout_ms, 1, 60'000},
    {"max_concurrency", &HookConfig::max_concurrency, 1, 100'000},
    {"max_attempts", &HookConfig::max_attempts, 1, 100},
    {"backoff_ms", &HookConfig::backoff_ms, 1, 3'600'000},
};

struct StringKey {
  const char* key;
  std::string HookConfig::*field;
};
const StringKey kStringKeys[] = {{"name", &HookConfig::name},
                                 {"point", &HookConfig::point},
                                 {"url", &HookConfig::url},
                                 {"secret", &HookConfig::secret},
                                 {"failure_policy", &HookConfig::failure_policy}};

struct ListKey {
  const char* key;
  std::vector<std::string> HookConfig::*field;
};
const ListKey kListKeys[] = {{"tenants", &HookConfig::tenants},
                             {"conversation_types", &HookConfig::conversation_types},
                             {"message_types", &HookConfig::message_types}};

Status ApplyHookKey(HookConfig& hook, const std::string& key, const toml::node& node) {
  for (const auto& k : kIntKeys) {
    if (key != k.key) continue;
    auto v = node.value<int64_t>();
    if (!node.is_integer() || !v) return HookError(hook, key, "must be an integer");
    hook.*k.field = *v;
    return CheckRange(hook, k.key, *v, k.min, k.max);
  }
  for (const auto& k : kStringKeys) {
    if (key != k.key) continue;
    auto v = node.value<std::string>();
    if (!node.is_string() || !v) return HookError(hook, key, "must be a string");
    hook.*k.field = *v;
    return Status::Ok();
  }
  for (const auto& k : kListKeys) {
    if (key != k.key) continue;
    const auto* array = node.as_array();
    if (array == nullptr) return HookError(hook, key, "must be an array of strings");
    auto& out = hook.*k.field;
    out.clear();
    for (const auto& item : *array) {
      auto v = item.value<std::string>();
      if (!item.is_string() || !v) return HookError(hook, key, "must be an array of strings");
      out.push_back(*v);
    }
    return Status::Ok();
  }
  return HookError(hook, key, "is not a hook key");
}

}  // namespace

const std::vector<std::string>& KnownHookPoints() {
  static const std::vector<std::string> points = {
      "pre_send",          "post_send",   "pre_message_op", "post_message_op",
      "post_conversation", "post_online", "post_offline",   "pre_login"};
  return points;
}

bool IsGrpcHookUrl(const std::string& url) { return url.rfind("grpc://", 0) == 0; }

Result<std::string> GrpcHookAddress(const std::string& url) {
  if (!IsGrpcHookUrl(url)) return InvalidArgument("'" + url + "' is not a grpc:// URL");
  std::string address = url.substr(7);
  if (!address.empty() && address.back() == '/') address.pop_back();
  size_t colon = address.rfind(':');
  bool port_ok = colon != std::string::npos && colon > 0 && colon + 1 < address.size() &&
                 address.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                 address.size() - colon - 1 <= 5 && std::stoi(address.substr(colon + 1)) <= 65535;
  if (!port_ok || address.find('/') != std::string::npos) {
    return InvalidArgument("'" + url + "' is not grpc://host:port");
  }
  return address;
}

Status ValidateHook(const HookConfig& hook) {
  if (hook.name.empty()) return InvalidArgument("a [[hooks]] table has no 'name'");
  // The name is a metrics label value: no quoting needed.
  for (char c : hook.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return HookError(hook, "name", "may hold only letters, digits, '_', '-' and '.'");
    }
  }
  if (!Contains(KnownHookPoints(), hook.point)) {
    return HookError(hook, "point",
                     "must be one of pre_send, post_send, pre_message_op, post_message_op, "
                     "post_conversation, post_online, post_offline, pre_login (got '" +
                         hook.point + "')");
  }
  if (IsGrpcHookUrl(hook.url)) {
    if (!GrpcHookAddress(hook.url).ok()) return HookError(hook, "url", "must be grpc://host:port");
  } else if (hook.url.rfind("http://", 0) != 0 && hook.url.rfind("https://", 0) != 0) {
    return HookError(hook, "url", "must be an http(s):// or grpc://host:port URL");
  }
  if (hook.secret.size() < 16) return HookError(hook, "secret", "must be at least 16 bytes");
  if (hook.failure_policy != "fail_open" && hook.failure_policy != "fail_closed") {
    return HookError(hook, "failure_policy", "must be fail_open or fail_closed");
  }
  for (const auto& k : kIntKeys) {
    FLARE_RETURN_IF_ERROR(CheckRange(hook, k.key, hook.*k.field, k.min, k.max));
  }
  FLARE_RETURN_IF_ERROR(
      CheckChoices(hook, "conversation_types", hook.conversation_types, kConversationTypes));
  return CheckChoices(hook, "message_types", hook.message_types, kMessageTypes);
}

Status ValidateHooks(const std::vector<HookConfig>& hooks) {
  std::set<std::string> names;
  for (const auto& hook : hooks) {
    FLARE_RETURN_IF_ERROR(ValidateHook(hook));
    if (!names.insert(hook.name).second) {
      return InvalidArgument("hook name '" + hook.name + "' is used twice");
    }
  }
  return Status::Ok();
}

Result<std::vector<HookConfig>> ParseHookTables(const toml::node& node) {
  const auto* array = node.as_array();
  if (array == nullptr) return InvalidArgument("'hooks' must be an array of tables ([[hooks]])");
  std::vector<HookConfig> hooks;
  for (const auto& item : *array) {
    const auto* table = item.as_table();
    if (table == nullptr) return InvalidArgument("'hooks' must be an array of tables ([[hooks]])");
    HookConfig hook;
    if (auto name = (*table)["name"].value<std::string>()) hook.name = *name;
    for (const auto& [key, value] : *table) {
      FLARE_RETURN_IF_ERROR(ApplyHookKey(hook, std::string(key.str()), value));
    }
    hooks.push_back(std::move(hook));
  }
  FLARE_RETURN_IF_ERROR(ValidateHooks(hooks));
  return hooks;
}

}  // namespace flare
