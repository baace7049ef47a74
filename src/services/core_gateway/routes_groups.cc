// Groups and members: create, add and remove members, roles, dismiss, and
// the reads (a group's record, a conversation's members).
#include "flare/client/v1/client.pb.h"
#include "services/core_gateway/command_waiter.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/session/session_service.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

// Hands `request` to the pipeline as `actor` (a body field, or ?actor=);
// answered with the group and the membership event's seq once stored.
void Submit(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call, const Principal& who,
            pb::GroupRequest& request, int success_status) {
  ReplyAddress address = deps.waiter.Expect([call, success_status](const CommandOutcome& o) {
    if (!o.status.ok()) return call->Fail(o.status);
    call->Reply(success_status, {{"group", ProtoToJson(o.group)}, {"seq", o.result().seq()}});
  });
  address.request_id = call->request_id();
  if (Status st = deps.messages.Group(who, request, address); !st.ok()) {
    deps.waiter.Forget(address);
    call->Fail(st);
  }
}

// The acting member and the optional idempotency key of a change.
Result<Principal> Actor(const std::shared_ptr<ApiCall>& call, nlohmann::json* body,
                        pb::GroupRequest& request) {
  std::optional<std::string> actor = call->Query("actor");
  if (body != nullptr) {
    auto given = StringField(*body, "actor", false);
    if (!given.ok()) return given.status();
    if (!given->empty()) actor = *given;
    auto key = StringField(*body, "client_msg_id", false);
    if (!key.ok()) return key.status();
    request.set_client_msg_id(*key);
    body->erase("actor");
    body->erase("client_msg_id");
  } else if (auto key = call->Query("client_msg_id")) {
    request.set_client_msg_id(*key);
  }
  return ActingUser(*call, actor, "actor");
}

// A change whose body (minus actor and client_msg_id) is the op's message.
template <typename Fill>
void Change(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call, bool has_body,
            int success_status, Fill fill) {
  pb::GroupRequest request;
  request.set_conversation_id(call->Param("conversation_id"));
  nlohmann::json body = nlohmann::json::object();
  if (has_body) {
    auto parsed = call->JsonBody();
    if (!parsed.ok()) return call->Fail(parsed.status());
    body = std::move(parsed).value();
  }
  auto who = Actor(call, has_body ? &body : nullptr, request);
  if (!who.ok()) return call->Fail(who.status());
  if (Status st = fill(body, request); !st.ok()) return call->Fail(st);
  Submit(deps, call, *who, request, success_status);
}

void GroupInfo(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto who = ActingUser(*call, call->Query("user"), "user");
  if (!who.ok()) return call->Fail(who.status());
  auto info = deps.sessions.Group(*who, call->Param("conversation_id"));
  if (!info.ok()) return call->Fail(info.status());
  call->Reply(200, ProtoToJson(*info));
}

void Members(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto who = ActingUser(*call, call->Query("user"), "user");
  if (!who.ok()) return call->Fail(who.status());
  auto limit = call->QueryInt("limit", 0, 1, 1000);
  if (!limit.ok()) return call->Fail(limit.status());
  MembersQuery query{{call->Param("conversation_id"), ""},
                     call->Query("cursor").value_or(""),
                     static_cast<int>(*limit)};
  auto page = deps.sessions.Members(*who, query);
  if (!page.ok()) return call->Fail(page.status());
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : page->members) members.push_back(ProtoToJson(m));
  call->Reply(200, {{"conversation_id", page->conversation_id},
                    {"members", members},
                    {"member_count", page->member_count},
                    {"has_more", page->has_more},
                    {"next_cursor", page->next_cursor}});
}

}  // namespace

void AddGroupRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  api.Add({.method = "POST",
           .path = "/v1/groups",
           .tag = "groups",
           .summary = "Create a group (or channel) owned by `actor`.",
           .scope = "groups",
           .request_example =
               R"({"actor":"alice","client_msg_id":"g-1","type":"CONVERSATION_TYPE_GROUP",
             "settings":{"name":"Team"},"member_ids":["bob","carol"]})",
           .response_example = R"({"group":{"conversationId":"g:01J...","owner":"alice",
             "memberCount":"3"},"seq":1})",
           .success_status = 201,
           .handler = [&deps](const auto& call) {
             Change(deps, call, true, 201, [](nlohmann::json& body, pb::GroupRequest& r) {
               return JsonToProto(body, *r.mutable_create());
             });
           }});
  api.Add({.method = "GET",
           .path = "/v1/groups/{conversation_id}",
           .tag = "groups",
           .summary = "A group's record, as a member sees it.",
           .access = kAccessApiKey | kAccessAdmin | kAccessUser,
           .scope = "groups",
           .query = {{"user", "string", false, "the member to read as (not with a client token)"}},
           .response_example = R"({"conversationId":"g:01J...","owner":"alice"})",
           .handler = [&deps](const auto& call) { GroupInfo(deps, call); }});
  api.Add({.method = "DELETE",
           .path = "/v1/groups/{conversation_id}",
           .tag = "groups",
           .summary = "Dismiss a group (its owner only).",
           .scope = "groups",
           .query = {{"actor", "string", true, "the member acting"},
                     {"client_msg_id", "string", false, "idempotency key"}},
           .response_example = R"({"group":{"dismissed":true},"seq":9})",
           .handler = [&deps](const auto& call) {
             Change(deps, call, false, 200, [](nlohmann::json&, pb::GroupRequest& r) {
               r.mutable_dismiss();
               return Status::Ok();
             });
           }});
  api.Add({.method = "POST",
           .path = "/v1/groups/{conversation_id}/members",
           .tag = "groups",
           .summary = "Add members.",
           .scope = "groups",
           .request_example = R"({"actor":"alice","user_ids":["dave"]})",
           .response_example = R"({"group":{"memberCount":"4"},"seq":3})",
           .handler = [&deps](const auto& call) {
             Change(deps, call, true, 200, [](nlohmann::json& body, pb::GroupRequest& r) {
               return JsonToProto(body, *r.mutable_add_members());
             });
           }});
  api.Add({.method = "DELETE",
           .path = "/v1/groups/{conversation_id}/members/{user}",
           .tag = "groups",
           .summary = "Remove a member (or leave, when actor is that member).",
           .scope = "groups",
           .query = {{"actor", "string", true, "the member acting"},
                     {"client_msg_id", "string", false, "idempotency key"}},
           .response_example = R"({"group":{"memberCount":"3"},"seq":4})",
           .handler = [&deps](const auto& call) {
             Change(deps, call, false, 200, [call](nlohmann::json&, pb::GroupRequest& r) {
               const std::string& user = call->Param("user");
               if (call->Query("actor").value_or("") == user)
                 r.mutable_leave();
               else
                 r.mutable_remove_members()->add_user_ids(user);
               return Status::Ok();
             });
           }});
  api.Add(
      {.method = "PUT",
       .path = "/v1/groups/{conversation_id}/members/{user}/role",
       .tag = "groups",
       .summary = "Set a member's role (MEMBER_ROLE_MEMBER, MEMBER_ROLE_ADMIN, MEMBER_ROLE_OWNER).",
       .scope = "groups",
       .request_example = R"({"actor":"alice","role":"MEMBER_ROLE_ADMIN"})",
       .response_example = R"({"group":{"owner":"alice"},"seq":5})",
       .handler = [&deps](const auto& call) {
         Change(deps, call, true, 200, [call](nlohmann::json& body, pb::GroupRequest& r) {
           body["user_id"] = call->Param("user");
           return JsonToProto(body, *r.mutable_set_role());
         });
       }});
  api.Add({.method = "GET",
           .path = "/v1/conversations/{conversation_id}/members",
           .tag = "conversations",
           .summary = "Members of a conversation in user id order (paged).",
           .access = kAccessApiKey | kAccessAdmin | kAccessUser,
           .scope = "groups",
           .query = {{"user", "string", false, "the member to read as (not with a client token)"},
                     {"cursor", "string", false, "next_cursor of the previous page"},
                     {"limit", "integer", false, "1..1000"}},
           .response_example = R"({"conversation_id":"g:01J...","members":[{"userId":"alice",
             "role":"MEMBER_ROLE_OWNER"}],"member_count":3,"has_more":false,"next_cursor":""})",
           .handler = [&deps](const auto& call) { Members(deps, call); }});
}

}  // namespace flare
