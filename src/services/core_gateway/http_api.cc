#include "services/core_gateway/http_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "services/core_gateway/api_keys.h"
#include "services/signaling/online/session_revocations.h"
#include "services/signaling/online/token.h"

namespace flare {
namespace {

constexpr int64_t kTimerTickMs = 100;

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path[0] == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// A request from this machine's own browser or tools: a loopback peer that
// names a loopback host (not a page of another site resolved to 127.0.0.1,
// DNS rebinding), not relayed by a proxy on this host, and JSON (a form or
// a simple cross-site POST cannot set that type).
bool IsLocalDevelopmentRequest(const HttpServerRequest& http) {
  if (!http.from_loopback) return false;
  for (const char* relayed : {"x-forwarded-for", "forwarded", "x-real-ip"})
    if (!http.Header(relayed).empty()) return false;
  std::string_view host = http.Header("host");
  if (host.empty()) return false;
  std::string_view name = host.substr(0, host[0] == '[' ? host.find(']') + 1 : host.find(':'));
  if (name != "localhost" && name != "127.0.0.1" && name != "[::1]") return false;
  return http.Header("content-type").substr(0, 16) == "application/json";
}

std::string RetryAfterSeconds(int64_t wait_ms) { return std::to_string((wait_ms + 999) / 1000); }

std::string_view Credential(const HttpServerRequest& http,
                            const std::optional<std::string>& query) {
  std::string_view auth = http.Header("authorization");
  if (auth.substr(0, 7) == "Bearer ") return auth.substr(7);
  if (std::string_view key = http.Header("x-api-key"); !key.empty()) return key;
  if (query && http.method == "GET") return *query;
  return {};
}

}  // namespace

HttpApi::HttpApi(const TokenSigner& tokens, ApiKeys* api_keys, const Clock& clock, Metrics* metrics,
                 HttpApiOptions options)
    : tokens_(tokens),
      api_keys_(api_keys),
      clock_(clock),
      options_(options),
      per_key_(options.per_key, clock),
      per_address_(options.per_address, clock),
      breakers_(clock, options.breaker_failures, options.breaker_open_ms),
      pool_(options.threads, options.max_queued) {
  if (metrics != nullptr) {
    requests_ = &metrics->AddCounter("flare_http_api_requests_total",
                                     "requests to the core-gateway's HTTP API");
    rate_limited_ = &metrics->AddCounter("flare_http_api_rate_limited_total",
                                         "HTTP API requests refused with 429");
    timeouts_ = &metrics->AddCounter("flare_http_api_timeouts_total",
                                     "HTTP API requests answered 504 after request_timeout_ms");
  }
  timer_ = std::thread([this] { TimerLoop(); });
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::Add(ApiRoute route) { routes_.push_back(std::move(route)); }

bool HttpApi::IsApiPath(std::string_view path) {
  return path == "/openapi.json" || path.substr(0, 4) == "/v1/";
}

HttpApi::Match HttpApi::Find(std::string_view method, std::string_view path,
                             std::map<std::string, std::string>& params) const {
  Match match;
  auto given = Segments(path);
  for (const auto& route : routes_) {
    auto pattern = Segments(route.path);
    if (pattern.size() != given.size()) continue;
    std::map<std::string, std::string> found;
    bool same = true;
    for (size_t i = 0; i < pattern.size() && same; ++i) {
      if (IsParam(pattern[i])) {
        auto decoded = PercentDecode(given[i], false);
        same = decoded.has_value() && !decoded->empty();
        if (same) found[std::string(pattern[i].substr(1, pattern[i].size() - 2))] = *decoded;
      } else {
        same = pattern[i] == given[i];
      }
    }
    if (!same) continue;
    if (route.method != method) {
      match.allowed_methods.push_back(route.method);
      continue;
    }
    params = std::move(found);
    match.route = &route;
    return match;
  }
  return match;
}

void HttpApi::Handle(HttpServerRequest request, HttpRespond respond) {
  std::string request_id(request.Header("x-request-id"));
  if (request_id.empty() || !IsValidRequestId(request_id)) {
    thread_local SystemRandom random;
    request_id = MakeUlid(clock_.NowMs(), random);
  }
  auto call = std::make_shared<ApiCall>(std::move(request), std::move(respond), request_id);
  if (requests_) requests_->Add();
  const auto& http = call->http();
  if (draining_.load()) {
    return call->Fail(503, "unavailable", "the server is shutting down; retry elsewhere",
                      {{"Retry-After", "1"}});
  }
  if (http.path == "/openapi.json" && http.method == "GET") {
    return call->ReplyRaw({200, "application/json", OpenApiJson()});
  }
  if (auto d = per_address_.Take("address", http.remote_address); !d.allowed) {
    if (rate_limited_) rate_limited_->Add();
    return call->Fail(429, "rate_limited", "too many requests from this address",
                      {{"Retry-After", RetryAfterSeconds(d.retry_after_ms)}});
  }
  Match match = Find(http.method, http.path, call->path_params());
  if (match.route == nullptr && !match.allowed_methods.empty()) {
    std::string allow;
    for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
    return call->Fail(405, "method_not_allowed",
                      http.method + " is not allowed on " + http.path + "; allowed: " + allow,
                      {{"Allow", allow}});
  }
  if (match.route == nullptr) {
    return call->Fail(
        404, "no_route",
        "no route " + http.method + " " + http.path + " (the API is described at /openapi.json)");
  }
  const ApiRoute* route = match.route;
  if (!route->raw_body && http.body.size() > options_.max_body_bytes) {
    return call->Fail(413, "payload_too_large",
                      "the request body is larger than " + std::to_string(options_.max_body_bytes) +
                          " bytes (http_api.max_body_bytes)");
  }
  // The breaker learns a call's outcome only if it let the call through.
  auto passed = std::make_shared<std::atomic<bool>>(false);
  call->set_on_answer([this, passed, tag = route->tag](int status) {
    if (passed->load()) breakers_.Record(tag, status >= 500);
  });
  Track(call);
  if (!pool_.Submit([this, route, call, passed] { Run(*route, call, *passed); })) {
    call->Fail(503, "overloaded", "the HTTP API is overloaded; retry later",
               {{"Retry-After", "1"}});
  }
}

Status HttpApi::Authenticate(ApiCall& call, const ApiRoute& route) {
  if (route.access & kAccessPublic) return Status::Ok();
  const auto& http = call.http();
  if (route.access & kAccessDevLoopback) {
    if (options_.dev_tokens_on_loopback && IsLocalDevelopmentRequest(http)) return Status::Ok();
    return PermissionDenied(
        "development tokens are issued to loopback clients only, with console.dev_tokens = "
        "\"loopback\"");
  }
  if ((route.access & kAccessPresigned) && call.Query("signature")) {
    std::string tenant = call.Query("tenant").value_or("");
    if (!IsValidId(tenant)) return InvalidArgument("a presigned URL names its tenant");
    call.caller() = {Caller::Kind::kAnonymous, tenant, "", "", "", {}};
    return Status::Ok();
  }
  auto query_token = call.Query("access_token");
  std::string credential(Credential(http, query_token));
  if (credential.empty()) {
    return Unauthenticated(
        "this route needs credentials: Authorization: Bearer <API key or token>");
  }
  Caller& caller = call.caller();
  if (credential.rfind("flk_", 0) == 0) {
    if (!(route.access & kAccessApiKey) || api_keys_ == nullptr)
      return PermissionDenied("API keys may not call " + route.method + " " + route.path);
    auto key = api_keys_->Authenticate(credential);
    if (!key.ok()) return key.status();
    if (!key->Allows(route.scope))
      return PermissionDenied("this API key lacks the scope '" + route.scope + "'");
    caller = {Caller::Kind::kApiKey, key->tenant, "", "", key->id, key->scopes};
    return Status::Ok();
  }
  const int64_t now_s = clock_.NowMs() / 1000;
  if (auto admin = tokens_.VerifyAdmin(credential, now_s); admin.ok()) {
    if (!(route.access & kAccessAdmin))
      return PermissionDenied("admin tokens may not call " + route.method + " " + route.path);
    std::string tenant = admin->tenant;
    auto asked = call.Query("tenant");
    if (tenant == "*")
      tenant = asked && !asked->empty() ? *asked : "default";
    else if (asked && !asked->empty() && *asked != tenant)
      return PermissionDenied("this admin token is for tenant '" + admin->tenant + "' only");
    if (!IsValidId(tenant)) return InvalidArgument("tenant '" + tenant + "' is invalid");
    caller = {Caller::Kind::kAdmin, tenant, "", "", "", {"*"}, admin->tenant == "*"};
    return Status::Ok();
  }
  auto who = tokens_.Verify(credential, now_s);
  if (!who.ok()) return who.status();
  if (!(route.access & kAccessUser))
    return PermissionDenied("client tokens may not call " + route.method + " " + route.path);
  if (revocations_ != nullptr) {
    auto refused = revocations_->Refuses(*who);
    if (!refused.ok()) return refused.status();
    if (*refused)
      return Unauthenticated("this token was issued before the user's sessions were revoked");
  }
  caller = {Caller::Kind::kUser, who->tenant, who->user_id, who->device, "", {}};
  return Status::Ok();
}

void HttpApi::Run(const ApiRoute& route, std::shared_ptr<ApiCall> call,
                  std::atomic<bool>& passed_breaker) {
  if (call->answered()) return;  // timed out while queued
  if (Status st = Authenticate(*call, route); !st.ok()) return call->Fail(st);
  const Caller& caller = call->caller();
  // API keys by id, users by (tenant, user); admins are not limited.
  RateLimiter::Decision d;
  if (caller.kind == Caller::Kind::kApiKey) d = per_key_.Take("api-key", caller.key_id);
  if (caller.kind == Caller::Kind::kUser) d = per_key_.Take(caller.tenant, caller.user_id);
  if (!d.allowed) {
    if (rate_limited_) rate_limited_->Add();
    return call->Fail(429, "rate_limited", "too many requests for this key",
                      {{"Retry-After", RetryAfterSeconds(d.retry_after_ms)}});
  }
  passed_breaker = true;  // before Check: an answer racing it is recorded
  if (int64_t wait = breakers_.Check(route.tag); wait > 0) {
    passed_breaker = false;
    return call->Fail(
        503, "circuit_open",
        "the " + route.tag + " service failed repeatedly; calls to it fail fast for now",
        {{"Retry-After", RetryAfterSeconds(wait)}});
  }
  try {
    route.handler(call);
  } catch (const nlohmann::json::exception& e) {
    call->Fail(400, "invalid_argument", e.what());
  } catch (const std::exception& e) {
    spdlog::error("HTTP API {} {}: {}", route.method, route.path, e.what());
    call->Fail(500, "internal", "internal error");
  }
}

void HttpApi::Track(const std::shared_ptr<ApiCall>& call) {
  std::lock_guard lock(mu_);
  deadlines_.emplace(clock_.MonotonicMs() + options_.request_timeout_ms, call);
}

void HttpApi::ExpireOverdue() {
  std::vector<std::shared_ptr<ApiCall>> overdue;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.MonotonicMs();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      if (auto call = deadlines_.begin()->second.lock()) overdue.push_back(std::move(call));
      deadlines_.erase(deadlines_.begin());
    }
  }
  for (auto& call : overdue) {
    if (call->answered()) continue;
    if (timeouts_) timeouts_->Add();
    call->Fail(504, "timeout",
               "no answer within http_api.request_timeout_ms; a send may still be stored: "
               "retry it with the same client_msg_id");
  }
}

void HttpApi::TimerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(kTimerTickMs));
    if (stopping_) break;
    lock.unlock();
    ExpireOverdue();
    per_key_.Sweep();  // forget full buckets, one shard a tick
    per_address_.Sweep();
    lock.lock();
  }
}

void HttpApi::Stop() {
  std::vector<std::shared_ptr<ApiCall>> pending;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  pool_.Stop();
  std::lock_guard lock(mu_);
  for (auto& [deadline, weak] : deadlines_) {
    if (auto call = weak.lock()) pending.push_back(std::move(call));
  }
  deadlines_.clear();
  for (auto& call : pending) {
    call->Fail(503, "unavailable",
               "the server is shutting down; a send may still be stored: retry it with the same "
               "client_msg_id");
  }
}

}  // namespace flare
