#include "services/core_gateway/route_support.h"

#include <google/protobuf/util/json_util.h>

#include "common/ids.h"

namespace flare {

nlohmann::json ProtoToJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = false;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

Status JsonToProto(const nlohmann::json& json, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(json.dump(), &message, options);
  if (!st.ok()) return InvalidArgument(std::string(st.message()));
  return Status::Ok();
}

Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("field '") + name + "' is required");
    return std::string();
  }
  if (!it->is_string())
    return InvalidArgument(std::string("field '") + name + "' must be a string");
  return it->get<std::string>();
}

Result<Principal> ActingUser(const ApiCall& call, const std::optional<std::string>& given,
                             const char* field) {
  const Caller& caller = call.caller();
  Principal who;
  who.tenant = caller.tenant;
  who.platform = "server";
  who.device = "api";
  if (caller.kind == Caller::Kind::kUser) {
    if (given && !given->empty() && *given != caller.user_id)
      return PermissionDenied("a client token acts for its own user only");
    who.user_id = caller.user_id;
    who.device = caller.device;
    return who;
  }
  if (!given || given->empty())
    return InvalidArgument(std::string("'") + field + "' names the user to act as; it is required");
  if (!IsValidId(*given)) return InvalidArgument("user id '" + *given + "' is invalid");
  who.user_id = *given;
  who.business_server = true;
  return who;
}

}  // namespace flare
