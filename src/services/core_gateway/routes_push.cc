// Push (the push-proxy's API): pushes now or scheduled, templates, devices
// registered by the business server, delivery statistics.
#include "push/v1/push.pb.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/push/proxy/push_api.h"

namespace flare {
namespace {

namespace pb = ::push::v1;

// Runs `body` against the push API, or 503 where this process has none.
template <typename Body>
ApiHandler WithPush(CoreGatewayDeps& deps, Body body) {
  return [&deps, body](const std::shared_ptr<ApiCall>& call) {
    if (deps.push == nullptr) return call->Fail(Unavailable("the push API is not served here"));
    body(*deps.push, call);
  };
}

template <typename Proto>
Result<Proto> ParseBody(const ApiCall& call) {
  auto body = call.JsonBody();
  if (!body.ok()) return body.status();
  Proto proto;
  if (Status st = JsonToProto(*body, proto); !st.ok()) return st;
  return proto;
}

void Push(PushApi& api, const std::shared_ptr<ApiCall>& call) {
  auto request = ParseBody<pb::PushRequest>(*call);
  if (!request.ok()) return call->Fail(request.status());
  auto response = api.Push(call->caller().tenant, *request);
  if (!response.ok()) return call->Fail(response.status());
  call->Reply(response->scheduled() ? 202 : 200, ProtoToJson(*response));
}

template <typename T>
nlohmann::json List(const std::vector<T>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(ProtoToJson(item));
  return out;
}

}  // namespace

void AddPushRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  api.Add({.method = "POST",
           .path = "/v1/push",
           .tag = "push",
           .summary = "Push to users or devices, now or at send_at_ms (then 202 and scheduled).",
           .scope = "push",
           .request_example = R"({"user_ids":["alice"],"title":"Hi","body":"Your order shipped"})",
           .response_example = R"({"pushId":"01J...","tasks":1})",
           .handler = WithPush(deps, Push)});
  api.Add({.method = "GET",
           .path = "/v1/push/scheduled",
           .tag = "push",
           .summary = "Scheduled pushes not sent yet.",
           .scope = "push",
           .response_example = R"({"scheduled":[{"pushId":"01J...","sendAtMs":"1764500000000"}]})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             auto list = push.ListScheduled(call->caller().tenant);
             if (!list.ok()) return call->Fail(list.status());
             call->Reply(200, {{"scheduled", List(*list)}});
           })});
  api.Add({.method = "DELETE",
           .path = "/v1/push/scheduled/{push_id}",
           .tag = "push",
           .summary = "Cancel a scheduled push.",
           .scope = "push",
           .response_example = R"({"cancelled":"01J..."})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             Status st = push.CancelScheduled(call->caller().tenant, call->Param("push_id"));
             if (!st.ok()) return call->Fail(st);
             call->Reply(200, {{"cancelled", call->Param("push_id")}});
           })});
  api.Add({.method = "GET",
           .path = "/v1/push/templates",
           .tag = "push",
           .summary = "The tenant's push templates.",
           .scope = "push",
           .response_example = R"({"templates":[{"name":"shipped","title":"{{shop}}"}]})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             auto list = push.ListTemplates(call->caller().tenant);
             if (!list.ok()) return call->Fail(list.status());
             call->Reply(200, {{"templates", List(*list)}});
           })});
  api.Add({.method = "PUT",
           .path = "/v1/push/templates/{name}",
           .tag = "push",
           .summary = "Create or replace a push template ({{variable}} placeholders).",
           .scope = "push",
           .request_example = R"({"title":"{{shop}}","body":"Order {{order}} shipped"})",
           .response_example = R"({"name":"shipped"})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             auto t = ParseBody<pb::PushTemplate>(*call);
             if (!t.ok()) return call->Fail(t.status());
             t->set_name(call->Param("name"));
             if (Status st = push.PutTemplate(call->caller().tenant, *t); !st.ok())
               return call->Fail(st);
             call->Reply(200, {{"name", t->name()}});
           })});
  api.Add({.method = "DELETE",
           .path = "/v1/push/templates/{name}",
           .tag = "push",
           .summary = "Delete a push template.",
           .scope = "push",
           .response_example = R"({"deleted":"shipped"})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             Status st = push.DeleteTemplate(call->caller().tenant, call->Param("name"));
             if (!st.ok()) return call->Fail(st);
             call->Reply(200, {{"deleted", call->Param("name")}});
           })});
  api.Add({.method = "POST",
           .path = "/v1/push/devices",
           .tag = "push",
           .summary = "Register a user's device for push (platform ios, android or webhook).",
           .scope = "push",
           .request_example = R"({"user_id":"alice","device_id":"phone-1","platform":"ios",
             "token":"a1b2..."})",
           .response_example = R"({"registered":"phone-1"})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             auto r = ParseBody<pb::RegisterDeviceRequest>(*call);
             if (!r.ok()) return call->Fail(r.status());
             if (Status st = push.RegisterDevice(call->caller().tenant, *r); !st.ok())
               return call->Fail(st);
             call->Reply(200, {{"registered", r->device_id()}});
           })});
  api.Add({.method = "DELETE",
           .path = "/v1/push/devices/{user}/{device}",
           .tag = "push",
           .summary = "Unregister a user's device.",
           .scope = "push",
           .response_example = R"({"unregistered":"phone-1"})",
           .handler = WithPush(deps, [](PushApi& push, const std::shared_ptr<ApiCall>& call) {
             pb::UnregisterDeviceRequest r;
             r.set_user_id(call->Param("user"));
             r.set_device_id(call->Param("device"));
             if (Status st = push.UnregisterDevice(call->caller().tenant, r); !st.ok())
               return call->Fail(st);
             call->Reply(200, {{"unregistered", r.device_id()}});
           })});
}

}  // namespace flare
