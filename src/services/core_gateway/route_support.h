// What the route files share: the services they call, JSON <-> protobuf
// (the client protocol's proto3 JSON, as on the WebSocket), field access
// that answers 400 instead of throwing, and "as whom" a request reads.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "services/core_gateway/api_call.h"
#include "services/signaling/online/token.h"

namespace google::protobuf {
class Message;
}

namespace flare {

class ApiKeys;
class CommandWaiter;
class Gateway;
class HookEngine;
class HookSettings;
class MessageService;
class MediaService;
class Metrics;
class PresenceHub;
class SessionRevocations;
class PushApi;
class SessionService;
class StorageReader;
class HttpApi;

struct CoreGatewayDeps {
  const TokenSigner& tokens;
  const Clock& clock;
  MessageService& messages;
  CommandWaiter& waiter;
  StorageReader& reader;
  SessionService& sessions;
  PresenceHub& presence;
  Gateway* gateway = nullptr;  // online users, kicks (this process's sessions)
  HookEngine* hooks = nullptr;
  HookSettings* hook_settings = nullptr;
  PushApi* push = nullptr;
  ApiKeys* api_keys = nullptr;
  SessionRevocations* revocations = nullptr;  // null: revoking only closes sessions
  MediaService* media = nullptr;
  const Metrics* metrics = nullptr;
  std::function<int()> ws_port;  // the bound WebSocket port (known once listening)
  int64_t token_ttl_s = 86'400;
  std::string console_root;  // empty: no console
};

// Each adds its routes (routes_*.cc).
void AddUserRoutes(HttpApi& api, CoreGatewayDeps& deps);
void AddMessageRoutes(HttpApi& api, CoreGatewayDeps& deps);
void AddGroupRoutes(HttpApi& api, CoreGatewayDeps& deps);
void AddAdminRoutes(HttpApi& api, CoreGatewayDeps& deps);
void AddPushRoutes(HttpApi& api, CoreGatewayDeps& deps);
void AddMediaRoutes(HttpApi& api, CoreGatewayDeps& deps);
inline void AddCoreGatewayRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  AddUserRoutes(api, deps);
  AddMessageRoutes(api, deps);
  AddGroupRoutes(api, deps);
  AddAdminRoutes(api, deps);
  AddPushRoutes(api, deps);
  AddMediaRoutes(api, deps);
}

nlohmann::json ProtoToJson(const google::protobuf::Message& message);
// Fills `message` from `json` (proto3 JSON; snake_case or lowerCamelCase
// names; unknown fields are an error).
Status JsonToProto(const nlohmann::json& json, google::protobuf::Message& message);

// A string field of `body`; InvalidArgument when required and missing, or
// when not a string.
Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required);

// The user a request acts as: the caller itself for a client token; else
// the `user` given (query parameter or body field `field`), which must be a
// valid id. The principal carries the caller's tenant.
Result<Principal> ActingUser(const ApiCall& call, const std::optional<std::string>& given,
                             const char* field);

}  // namespace flare
