// Users: client tokens, revoking sessions, conversations, presence, and the
// development token the web console signs in with.
#include "common/ids.h"
#include "flare/client/v1/client.pb.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/session/session_service.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/online/presence.h"
#include "services/signaling/online/session_revocations.h"

namespace flare {
namespace {

constexpr int64_t kMaxTokenTtlS = 30LL * 86'400;
constexpr size_t kMaxPresenceUsers = 100;

Result<int64_t> TtlField(const nlohmann::json& body, int64_t fallback) {
  auto it = body.find("ttl_s");
  if (it == body.end()) return fallback;
  if (!it->is_number_integer() || *it < 1 || *it > kMaxTokenTtlS)
    return InvalidArgument("ttl_s must be an integer in [1, " + std::to_string(kMaxTokenTtlS) +
                           "]");
  return it->get<int64_t>();
}

void IssueToken(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto body = call->http().body.empty() ? Result<nlohmann::json>(nlohmann::json::object())
                                        : call->JsonBody();
  if (!body.ok()) return call->Fail(body.status());
  auto device = StringField(*body, "device", false);
  auto platform = StringField(*body, "platform", false);
  auto ttl = TtlField(*body, deps.token_ttl_s);
  for (const auto* r : {&device, &platform})
    if (!r->ok()) return call->Fail(r->status());
  if (!ttl.ok()) return call->Fail(ttl.status());
  Principal who{call->caller().tenant, call->Param("user"), device->empty() ? "default" : *device,
                *platform};
  const int64_t now_s = deps.clock.NowMs() / 1000;
  auto token = deps.tokens.Issue(who, now_s, *ttl);
  if (!token.ok()) return call->Fail(token.status());
  call->Reply(200, {{"token", *token},
                    {"user", who.user_id},
                    {"tenant", who.tenant},
                    {"device", who.device},
                    {"expires_at_ms", (now_s + *ttl) * 1000}});
}

void RevokeSessions(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  const std::string& user = call->Param("user");
  if (!IsValidId(user)) return call->Fail(InvalidArgument("user id '" + user + "' is invalid"));
  // Recorded before the kicks: a kicked client that logs straight back in
  // with its old token is refused.
  nlohmann::json reply = {{"user", user}};
  if (deps.revocations != nullptr) {
    auto revoked_s = deps.revocations->Revoke(call->caller().tenant, user);
    if (!revoked_s.ok()) return call->Fail(revoked_s.status());
    reply["tokens_issued_before_ms"] = *revoked_s * 1000;
  }
  reply["sessions_closed"] =
      deps.gateway == nullptr
          ? 0
          : deps.gateway->KickUser(call->caller().tenant, user, "sessions revoked");
  call->Reply(200, reply);
}

void DevToken(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto body = call->JsonBody();
  if (!body.ok()) return call->Fail(body.status());
  const int64_t now_s = deps.clock.NowMs() / 1000;
  auto tenant = StringField(*body, "tenant", false);
  if (!tenant.ok()) return call->Fail(tenant.status());
  if (body->value("admin", false)) {
    std::string scope = tenant->empty() ? "*" : *tenant;
    auto token = deps.tokens.IssueAdmin({scope, "console", 0}, now_s, deps.token_ttl_s);
    if (!token.ok()) return call->Fail(token.status());
    return call->Reply(200, {{"token", *token},
                             {"tenant", scope},
                             {"admin", true},
                             {"expires_at_ms", (now_s + deps.token_ttl_s) * 1000}});
  }
  auto user = StringField(*body, "user", true);
  auto device = StringField(*body, "device", false);
  auto platform = StringField(*body, "platform", false);
  for (const auto* r : {&user, &device, &platform})
    if (!r->ok()) return call->Fail(r->status());
  Principal who{tenant->empty() ? "default" : *tenant, *user, device->empty() ? "web" : *device,
                platform->empty() ? "web" : *platform};
  auto token = deps.tokens.Issue(who, now_s, deps.token_ttl_s);
  if (!token.ok()) return call->Fail(token.status());
  call->Reply(200, {{"token", *token},
                    {"user", who.user_id},
                    {"tenant", who.tenant},
                    {"device", who.device},
                    {"ws_port", deps.ws_port ? deps.ws_port() : 0},
                    {"expires_at_ms", (now_s + deps.token_ttl_s) * 1000}});
}

void Conversations(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto who = ActingUser(*call, call->Param("user"), "user");
  if (!who.ok()) return call->Fail(who.status());
  ::flare::client::v1::BootstrapRequest request;
  if (auto cursor = call->Query("cursor")) request.set_cursor(*cursor);
  auto page = deps.sessions.Bootstrap(*who, request);
  if (!page.ok()) return call->Fail(page.status());
  call->Reply(200, ProtoToJson(*page));
}

void Presence(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto users = call->Query("users");
  if (!users || users->empty()) return call->Fail(InvalidArgument("'users' is required"));
  nlohmann::json statuses = nlohmann::json::array();
  std::string_view rest = *users;
  size_t count = 0;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string user(rest.substr(0, comma));
    if (!IsValidId(user)) return call->Fail(InvalidArgument("user id '" + user + "' is invalid"));
    if (++count > kMaxPresenceUsers)
      return call->Fail(InvalidArgument("at most 100 users per request"));
    statuses.push_back(ProtoToJson(deps.presence.Query(call->caller().tenant, user)));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  call->Reply(200, {{"statuses", statuses}});
}

}  // namespace

void AddUserRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  api.Add({.method = "POST",
           .path = "/v1/users/{user}/tokens",
           .tag = "users",
           .summary = "Issue a client token (HS256) for a user's device, to log in over WebSocket.",
           .scope = "tokens",
           .request_example = R"({"device":"phone-1","platform":"ios","ttl_s":86400})",
           .response_example = R"({"token":"eyJ...","user":"alice","tenant":"acme",
             "device":"phone-1","expires_at_ms":1764586400000})",
           .handler = [&deps](const auto& call) { IssueToken(deps, call); }});
  api.Add({.method = "DELETE",
           .path = "/v1/users/{user}/sessions",
           .tag = "users",
           .summary = "Revoke a user's sessions: tokens issued to the user before this second "
                      "no longer log in (a new token does), and every open session, on any "
                      "gateway, is closed (each gets `kicked` first).",
           .scope = "tokens",
           .response_example =
               R"({"user":"alice","tokens_issued_before_ms":1764500000000,"sessions_closed":2})",
           .handler = [&deps](const auto& call) { RevokeSessions(deps, call); }});
  api.Add({.method = "GET",
           .path = "/v1/users/{user}/conversations",
           .tag = "conversations",
           .summary = "A user's conversations with unread counts and last messages (paged: "
                      "ask again with cursor = next_cursor while has_more).",
           .access = kAccessApiKey | kAccessAdmin | kAccessUser,
           .scope = "messages:read",
           .query = {{"cursor", "string", false, "next_cursor of the previous page"}},
           .response_example = R"({"conversations":[{"conversationId":"p2p:alice:bob",
             "maxSeq":"7","unread":"2"}],"hasMore":false})",
           .handler = [&deps](const auto& call) { Conversations(deps, call); }});
  api.Add({.method = "GET",
           .path = "/v1/presence",
           .tag = "presence",
           .summary = "Whether users are online, and on which platforms.",
           .scope = "presence",
           .query = {{"users", "string", true, "comma-separated user ids (at most 100)"}},
           .response_example = R"({"statuses":[{"userId":"alice","online":true,
             "platforms":["web"]}]})",
           .handler = [&deps](const auto& call) { Presence(deps, call); }});
  api.Add({.method = "POST",
           .path = "/v1/dev/token",
           .tag = "console",
           .summary = "Development sign-in for the web console: a client token for any user, or "
                      "an admin token (\"admin\": true). Loopback clients only, with "
                      "console.dev_tokens = \"loopback\".",
           .access = kAccessDevLoopback,
           .request_example = R"({"tenant":"default","user":"alice","device":"web-1"})",
           .response_example = R"({"token":"eyJ...","user":"alice","tenant":"default",
             "device":"web-1","ws_port":8081,"expires_at_ms":1764586400000})",
           .handler = [&deps](const auto& call) { DevToken(deps, call); }});
}

}  // namespace flare
