// The HTTP side of a process that serves the core-gateway: the REST API
// (services/core_gateway/), the web console's files, and the health and
// metrics endpoints every process has, behind one HttpHandler.
#pragma once

#include <memory>

#include <functional>

#include "common/config.h"
#include "services/core_gateway/api_keys.h"
#include "services/core_gateway/console_files.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/signaling/online/session_revocations.h"

namespace flare {

class SettingsStore;

class CoreGatewayHttp {
 public:
  using Health = std::function<HttpServerResponse(const HttpServerRequest&)>;
  // `deps` and `settings` must outlive this object; `health` answers
  // /healthz, /readyz and /metrics (the process's HealthHttp).
  CoreGatewayHttp(const Config& config, CoreGatewayDeps deps, SettingsStore& settings,
                  Metrics* metrics, Health health);

  HttpHandler Handler();
  HttpApi& api() { return api_; }
  // The push API, once it runs (routes answer 503 before).
  void SetPush(PushApi* push) { deps_.push = push; }
  // New API calls get 503; those in flight go on.
  void Drain() { api_.Drain(); }
  // Answers what is pending (503) and takes no more API calls.
  void Stop() { api_.Stop(); }

 private:
  ApiKeys keys_;
  SessionRevocations revocations_;
  CoreGatewayDeps deps_;
  HttpApi api_;
  ConsoleFiles console_;
  Health health_;
};

HttpApiOptions HttpApiOptionsFrom(const Config& config);

}  // namespace flare
