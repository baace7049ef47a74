// The core-gateway's REST API (access_gateway.v1 over HTTP/JSON): a table of
// routes, each documented where it is declared, so the OpenAPI document at
// /openapi.json is built from the same table that dispatches (nothing can be
// served undocumented). A request goes: per-address rate limit -> route ->
// authentication (API key, admin token or client token) and tenant scope ->
// per-key rate limit -> the handler, on a thread of its own pool (handlers
// may block on storage; the I/O threads never do). A handler answers through
// its ApiCall, now or later (sends answer once the message is durable); a
// call still unanswered after http_api.request_timeout_ms gets 504.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "services/core_gateway/api_call.h"
#include "services/core_gateway/circuit_breaker.h"
#include "services/signaling/gateway/rate_limiter.h"

namespace flare {

class ApiKeys;
class SessionRevocations;
class TokenSigner;

// Who may call a route (bits, combined with |).
enum ApiAccess : unsigned {
  kAccessPublic = 1,        // nobody needs to authenticate
  kAccessUser = 2,          // a client token (a user of a tenant)
  kAccessApiKey = 4,        // an API key with the route's scope
  kAccessAdmin = 8,         // an admin token
  kAccessDevLoopback = 16,  // loopback clients, when console.dev_tokens allows it
  // Anyone with a presigned URL (?tenant=&expires=&signature=): the caller
  // is anonymous with that tenant, and the HANDLER checks the signature.
  kAccessPresigned = 32,
};

struct ApiParam {
  std::string name;
  std::string type = "string";  // string | integer | boolean
  bool required = false;
  std::string description;
};

using ApiHandler = std::function<void(const std::shared_ptr<ApiCall>& call)>;

struct ApiRoute {
  std::string method;  // GET, POST, PUT, DELETE
  std::string path;    // "/v1/conversations/{conversation_id}/messages"
  std::string tag;     // OpenAPI grouping
  std::string summary;
  unsigned access = kAccessApiKey | kAccessAdmin;
  std::string scope;  // the API key scope it needs
  std::vector<ApiParam> query;
  std::string request_example;   // JSON text, "" when there is no body
  std::string response_example;  // JSON text
  int success_status = 200;
  ApiHandler handler;
  // The body is not JSON and may be larger than max_body_bytes (uploads,
  // which check their own limits).
  bool raw_body = false;
};

struct HttpApiOptions {
  size_t max_body_bytes = 1 << 20;  // JSON routes
  int threads = 2;
  size_t max_queued = 4096;
  int64_t request_timeout_ms = 10'000;
  RateLimit per_key;
  RateLimit per_address;
  bool dev_tokens_on_loopback = false;
  // Per route tag (the service behind it): consecutive 5xx answers that
  // open its breaker, and how long it stays open.
  int64_t breaker_failures = 5;
  int64_t breaker_open_ms = 5'000;
};

class HttpApi {
 public:
  HttpApi(const TokenSigner& tokens, ApiKeys* api_keys, const Clock& clock, Metrics* metrics,
          HttpApiOptions options);
  ~HttpApi();

  // Client tokens are refused once their user's sessions were revoked
  // after they were issued (null: not checked). Set before serving.
  void SetRevocations(SessionRevocations* revocations) { revocations_ = revocations; }
  void Add(ApiRoute route);
  const std::vector<ApiRoute>& routes() const { return routes_; }

  // Whether `path` belongs to the API (/v1/... and /openapi.json).
  static bool IsApiPath(std::string_view path);
  void Handle(HttpServerRequest request, HttpRespond respond);

  // The OpenAPI 3 document of every route.
  std::string OpenApiJson() const;

  // Answers 504 to calls older than the timeout; the timer thread calls it.
  void ExpireOverdue();
  // Refuses new calls (503) while those in flight finish (a drain).
  void Drain() { draining_ = true; }
  // Answers what is pending with 503 and runs no more handlers.
  void Stop();

 private:
  struct Match {
    const ApiRoute* route = nullptr;
    std::vector<std::string> allowed_methods;  // when the path matched but not the method
  };
  Match Find(std::string_view method, std::string_view path,
             std::map<std::string, std::string>& params) const;
  Status Authenticate(ApiCall& call, const ApiRoute& route);
  void Run(const ApiRoute& route, std::shared_ptr<ApiCall> call, std::atomic<bool>& passed_breaker);
  void Track(const std::shared_ptr<ApiCall>& call);
  void TimerLoop();

  const TokenSigner& tokens_;
  ApiKeys* api_keys_;
  SessionRevocations* revocations_ = nullptr;
  const Clock& clock_;
  HttpApiOptions options_;
  std::vector<ApiRoute> routes_;
  RateLimiter per_key_;
  RateLimiter per_address_;
  CircuitBreaker breakers_;
  ThreadPool pool_;
  Counter* requests_ = nullptr;
  Counter* rate_limited_ = nullptr;
  Counter* timeouts_ = nullptr;

  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::multimap<int64_t, std::weak_ptr<ApiCall>> deadlines_;  // by MonotonicMs
  std::thread timer_;
};

}  // namespace flare
