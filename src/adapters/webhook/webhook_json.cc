#include "adapters/webhook/webhook_json.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

namespace flare {

using nlohmann::json;

std::string EncodeHookRequest(const HookRequest& request) {
  std::string message;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(request.message, &message, options);
  json head = {{"point", request.point},
               {"hook", request.hook},
               {"event_id", request.event_id},
               {"tenant", request.tenant},
               {"attempt", request.attempt}};
  if (!request.action.empty()) head["action"] = request.action;
  if (!request.user_id.empty()) head["user_id"] = request.user_id;
  if (!request.device.empty()) head["device"] = request.device;
  if (!request.platform.empty()) head["platform"] = request.platform;
  std::string body = head.dump();
  body.pop_back();  // the closing brace: the message is spliced in as it was printed
  body += ",\"message\":";
  body += message.empty() ? "{}" : message;
  body += '}';
  return body;
}

namespace {

Status ReadRewrite(const json& answer, HookResponse& out) {
  if (auto it = answer.find("content"); it != answer.end() && !it->is_null()) {
    ::flare::client::v1::Content content;
    auto st = google::protobuf::util::JsonStringToMessage(it->dump(), &content);
    if (!st.ok()) return InvalidArgument("hook answer: bad 'content': " + st.ToString());
    out.content = std::move(content);
  }
  if (auto it = answer.find("attributes"); it != answer.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("hook answer: 'attributes' must be an object");
    std::map<std::string, std::string> attributes;
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return InvalidArgument("hook answer: attribute values must be strings");
      attributes[k] = v.get<std::string>();
    }
    out.attributes = std::move(attributes);
  }
  return Status::Ok();
}

}  // namespace

Result<HookResponse> DecodeHookResponse(const std::string& body) {
  HookResponse out;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    return InvalidArgument("hook answer is not a JSON object");
  }
  std::string action = "allow";
  if (auto a = answer.find("action"); a != answer.end()) {
    if (!a->is_string()) return InvalidArgument("hook answer: 'action' must be a string");
    action = a->get<std::string>();
  }
  if (action == "reject") {
    out.verdict = HookResponse::Verdict::kReject;
    auto code = answer.find("code");
    if (code != answer.end() && code->is_number_integer()) out.code = code->get<int32_t>();
    auto reason = answer.find("reason");
    if (reason != answer.end() && reason->is_string()) out.reason = reason->get<std::string>();
    return out;
  }
  if (action != "allow") return InvalidArgument("hook answer: unknown action '" + action + "'");
  FLARE_RETURN_IF_ERROR(ReadRewrite(answer, out));
  return out;
}

}  // namespace flare
