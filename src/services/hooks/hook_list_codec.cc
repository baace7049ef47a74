#include "services/hooks/hook_list_codec.h"

#include <nlohmann/json.hpp>

namespace flare {
namespace {

using nlohmann::json;

json ToJson(const HookConfig& h) {
  return json{{"name", h.name},
              {"point", h.point},
              {"url", h.url},
              {"secret", h.secret},
              {"tenants", h.tenants},
              {"conversation_types", h.conversation_types},
              {"message_types", h.message_types},
              {"priority", h.priority},
              {"timeout_ms", h.timeout_ms},
              {"failure_policy", h.failure_policy},
              {"max_concurrency", h.max_concurrency},
              {"max_attempts", h.max_attempts},
              {"backoff_ms", h.backoff_ms}};
}

Status WrongType(size_t index, const std::string& key, const char* wanted) {
  return InvalidArgument("hooks[" + std::to_string(index) + "]." + key + " must be " + wanted);
}

// One key of a hook object into `out`; an unknown key is an error.
Status ReadKey(size_t index, const std::string& key, const json& value, HookConfig& out) {
  auto text = [&](std::string& field) -> Status {
    if (!value.is_string()) return WrongType(index, key, "a string");
    field = value.get<std::string>();
    return Status::Ok();
  };
  auto integer = [&](int64_t& field) -> Status {
    if (!value.is_number_integer()) return WrongType(index, key, "an integer");
    field = value.get<int64_t>();
    return Status::Ok();
  };
  auto strings = [&](std::vector<std::string>& field) -> Status {
    if (!value.is_array()) return WrongType(index, key, "an array of strings");
    field.clear();
    for (const auto& item : value) {
      if (!item.is_string()) return WrongType(index, key, "an array of strings");
      field.push_back(item.get<std::string>());
    }
    return Status::Ok();
  };
  if (key == "name") return text(out.name);
  if (key == "point") return text(out.point);
  if (key == "url") return text(out.url);
  if (key == "secret") return text(out.secret);
  if (key == "failure_policy") return text(out.failure_policy);
  if (key == "tenants") return strings(out.tenants);
  if (key == "conversation_types") return strings(out.conversation_types);
  if (key == "message_types") return strings(out.message_types);
  if (key == "priority") return integer(out.priority);
  if (key == "timeout_ms") return integer(out.timeout_ms);
  if (key == "max_concurrency") return integer(out.max_concurrency);
  if (key == "max_attempts") return integer(out.max_attempts);
  if (key == "backoff_ms") return integer(out.backoff_ms);
  return InvalidArgument("hooks[" + std::to_string(index) + "]: unknown key '" + key + "'");
}

}  // namespace

std::string EncodeHookList(const std::vector<HookConfig>& hooks) {
  json list = json::array();
  for (const auto& hook : hooks) list.push_back(ToJson(hook));
  return json{{"hooks", std::move(list)}}.dump();
}

Result<std::vector<HookConfig>> DecodeHookList(const std::string& document) {
  // No exceptions: parse errors give a discarded value, and every access
  // below checks the type first.
  json root = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgument("the hook list is not valid JSON");
  if (!root.is_object() || !root.contains("hooks") || !root["hooks"].is_array()) {
    return InvalidArgument("the hook list has no \"hooks\" array");
  }
  std::vector<HookConfig> hooks;
  const json& list = root["hooks"];
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) {
      return InvalidArgument("hooks[" + std::to_string(i) + "] is not an object");
    }
    HookConfig hook;
    for (const auto& [key, value] : list[i].items()) {
      FLARE_RETURN_IF_ERROR(ReadKey(i, key, value, hook));
    }
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

}  // namespace flare
