// Administration: API keys, hooks and their statistics, the server's
// metrics, online users, and a tenant's own figures.
#include <set>

#include "common/metrics.h"
#include "push/v1/push.pb.h"
#include "rpc/hooks/hook_spec_codec.h"
#include "services/core_gateway/api_keys.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/hooks/hook_engine.h"
#include "services/hooks/hook_settings.h"
#include "services/push/proxy/push_api.h"
#include "services/signaling/gateway/gateway.h"

namespace flare {
namespace {

nlohmann::json KeyJson(const ApiKeyRecord& r) {
  return {{"id", r.id},
          {"tenant", r.tenant},
          {"scopes", r.scopes},
          {"created_ms", r.created_ms},
          {"revoked", r.revoked_ms != 0},
          {"revoked_ms", r.revoked_ms}};
}

Status NeedsEveryTenant(const ApiCall& call) {
  if (call.caller().all_tenants) return Status::Ok();
  return PermissionDenied("this covers every tenant: it needs an admin token for tenant \"*\"");
}

void ListKeys(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  bool everyone = call->caller().all_tenants && !call->Query("tenant");
  auto keys = deps.api_keys->List(everyone ? "" : call->caller().tenant);
  if (!keys.ok()) return call->Fail(keys.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : *keys) out.push_back(KeyJson(k));
  call->Reply(200, {{"keys", out}});
}

void CreateKey(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto body = call->JsonBody();
  if (!body.ok()) return call->Fail(body.status());
  auto tenant = StringField(*body, "tenant", false);
  if (!tenant.ok()) return call->Fail(tenant.status());
  std::string owner = tenant->empty() ? call->caller().tenant : *tenant;
  if (owner != call->caller().tenant && !call->caller().all_tenants)
    return call->Fail(
        PermissionDenied("this admin token is for tenant '" + call->caller().tenant + "' only"));
  std::vector<std::string> scopes = body->value("scopes", std::vector<std::string>{});
  auto created = deps.api_keys->Create(owner, std::move(scopes));
  if (!created.ok()) return call->Fail(created.status());
  nlohmann::json out = KeyJson(created->record);
  out["key"] = created->key;
  call->Reply(201, out);
}

void RevokeKey(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  const std::string& id = call->Param("id");
  if (!call->caller().all_tenants) {
    auto mine = deps.api_keys->List(call->caller().tenant);
    if (!mine.ok()) return call->Fail(mine.status());
    bool found = false;
    for (const auto& k : *mine) found = found || k.id == id;
    if (!found) return call->Fail(NotFound("no API key '" + id + "'"));
  }
  if (Status st = deps.api_keys->Revoke(id); !st.ok()) return call->Fail(st);
  call->Reply(200, {{"revoked", id}});
}

void Online(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  std::map<std::string, std::set<std::string>> devices, platforms;
  if (deps.gateway != nullptr) {
    for (const auto& who : deps.gateway->OnlineSessions(call->caller().tenant)) {
      devices[who.user_id].insert(who.device);
      platforms[who.user_id].insert(who.platform);
    }
  }
  nlohmann::json users = nlohmann::json::array();
  for (const auto& [user, set] : devices) {
    users.push_back({{"user_id", user}, {"devices", set.size()}, {"platforms", platforms[user]}});
  }
  call->Reply(200, {{"tenant", call->caller().tenant}, {"users", users}});
}

void ListHooks(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  if (Status st = NeedsEveryTenant(*call); !st.ok()) return call->Fail(st);
  nlohmann::json hooks = nlohmann::json::array(), stats = nlohmann::json::array();
  for (const auto& hook : deps.hooks->Hooks()) hooks.push_back(ProtoToJson(ToSpec(hook)));
  for (const auto& [name, s] : deps.hooks->AllStats()) {
    ::hooks::v1::HookStatistics out;
    FillStatistics(name, *s, out);
    stats.push_back(ProtoToJson(out));
  }
  call->Reply(200, {{"hooks", hooks}, {"stats", stats}});
}

void PutHook(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  if (Status st = NeedsEveryTenant(*call); !st.ok()) return call->Fail(st);
  auto body = call->JsonBody();
  if (!body.ok()) return call->Fail(body.status());
  ::hooks::v1::HookSpec spec;
  if (Status st = JsonToProto(*body, spec); !st.ok()) return call->Fail(st);
  spec.set_name(call->Param("name"));
  auto replaced = deps.hook_settings->PutHook(FromSpec(spec));
  if (!replaced.ok()) return call->Fail(replaced.status());
  call->Reply(200, {{"name", spec.name()}, {"replaced", *replaced}});
}

void DeleteHook(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  if (Status st = NeedsEveryTenant(*call); !st.ok()) return call->Fail(st);
  if (Status st = deps.hook_settings->DeleteHook(call->Param("name")); !st.ok())
    return call->Fail(st);
  call->Reply(200, {{"deleted", call->Param("name")}});
}

void TenantMetrics(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  const std::string& tenant = call->caller().tenant;
  std::set<std::string> users;
  size_t sessions = 0;
  if (deps.gateway != nullptr) {
    for (const auto& who : deps.gateway->OnlineSessions(tenant)) {
      users.insert(who.user_id);
      ++sessions;
    }
  }
  nlohmann::json out = {
      {"tenant", tenant}, {"online_sessions", sessions}, {"online_users", users.size()}};
  if (deps.push != nullptr) {
    if (auto stats = deps.push->Stats(tenant); stats.ok()) out["push"] = ProtoToJson(*stats);
  }
  call->Reply(200, out);
}

}  // namespace

void AddAdminRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  if (deps.api_keys != nullptr) {
    api.Add({.method = "GET",
             .path = "/v1/admin/apikeys",
             .tag = "admin",
             .summary = "API keys (without secrets): the token's tenant, or every tenant's for "
                        "an admin of every tenant (narrowed by ?tenant=).",
             .access = kAccessAdmin,
             .query = {{"tenant", "string", false, "one tenant"}},
             .response_example = R"({"keys":[{"id":"9f2c...","tenant":"acme",
               "scopes":["messages:write"],"created_ms":1764500000000,"revoked":false}]})",
             .handler = [&deps](const auto& call) { ListKeys(deps, call); }});
    api.Add({.method = "POST",
             .path = "/v1/admin/apikeys",
             .tag = "admin",
             .summary = "Create an API key; its secret is shown in this answer only.",
             .access = kAccessAdmin,
             .request_example = R"({"tenant":"acme","scopes":["messages:write","tokens"]})",
             .response_example = R"({"id":"9f2c...","key":"flk_9f2c..._...","tenant":"acme",
               "scopes":["messages:write","tokens"]})",
             .success_status = 201,
             .handler = [&deps](const auto& call) { CreateKey(deps, call); }});
    api.Add({.method = "DELETE",
             .path = "/v1/admin/apikeys/{id}",
             .tag = "admin",
             .summary = "Revoke an API key (every process refuses it within "
                        "http_api.keys_reload_interval_ms).",
             .access = kAccessAdmin,
             .response_example = R"({"revoked":"9f2c..."})",
             .handler = [&deps](const auto& call) { RevokeKey(deps, call); }});
  }
  api.Add({.method = "GET",
           .path = "/v1/admin/metrics",
           .tag = "admin",
           .summary = "The server's Prometheus metrics (text exposition format); an admin of "
                      "every tenant only.",
           .access = kAccessAdmin,
           .handler = [&deps](const auto& call) {
             if (Status st = NeedsEveryTenant(*call); !st.ok()) return call->Fail(st);
             call->ReplyRaw({200, "text/plain; version=0.0.4",
                             deps.metrics ? deps.metrics->Render() : std::string()});
           }});
  api.Add({.method = "GET",
           .path = "/v1/admin/online",
           .tag = "admin",
           .summary = "Users of the tenant online on this process, with their device count.",
           .access = kAccessAdmin | kAccessApiKey,
           .scope = "presence",
           .response_example = R"({"tenant":"default","users":[{"user_id":"alice","devices":1,
             "platforms":["web"]}]})",
           .handler = [&deps](const auto& call) { Online(deps, call); }});
  api.Add({.method = "GET",
           .path = "/v1/metrics",
           .tag = "metrics",
           .summary = "The tenant's figures: sessions and users online, push delivery counts.",
           .scope = "metrics",
           .response_example = R"({"tenant":"acme","online_sessions":3,"online_users":2,
             "push":{"sent":"10"}})",
           .handler = [&deps](const auto& call) { TenantMetrics(deps, call); }});
  if (deps.hooks != nullptr && deps.hook_settings != nullptr) {
    api.Add({.method = "GET",
             .path = "/v1/hooks",
             .tag = "hooks",
             .summary = "Hooks (without secrets) and their statistics.",
             .access = kAccessAdmin,
             .response_example = R"({"hooks":[{"name":"audit","point":"post_send",
               "url":"http://audit.internal/hook"}],"stats":[{"name":"audit","calls":"12"}]})",
             .handler = [&deps](const auto& call) { ListHooks(deps, call); }});
    api.Add({.method = "PUT",
             .path = "/v1/hooks/{name}",
             .tag = "hooks",
             .summary = "Add or replace a hook (saved; every process applies it).",
             .access = kAccessAdmin,
             .request_example = R"({"point":"post_send","url":"http://audit.internal/hook",
               "secret":"0123456789abcdef"})",
             .response_example = R"({"name":"audit","replaced":false})",
             .handler = [&deps](const auto& call) { PutHook(deps, call); }});
    api.Add({.method = "DELETE",
             .path = "/v1/hooks/{name}",
             .tag = "hooks",
             .summary = "Delete a hook.",
             .access = kAccessAdmin,
             .response_example = R"({"deleted":"audit"})",
             .handler = [&deps](const auto& call) { DeleteHook(deps, call); }});
  }
}

}  // namespace flare
