#include "app/core_gateway_wiring.h"

namespace flare {

HttpApiOptions HttpApiOptionsFrom(const Config& config) {
  HttpApiOptions o;
  o.threads = static_cast<int>(config.http_api_threads);
  o.max_body_bytes = static_cast<size_t>(config.http_api_max_body_bytes);
  o.request_timeout_ms = config.http_api_request_timeout_ms;
  o.per_key = {config.http_api_key_rate_per_s, config.http_api_key_burst};
  o.per_address = {config.http_api_address_rate_per_s, config.http_api_address_burst};
  o.dev_tokens_on_loopback = config.console_dev_tokens == "loopback";
  o.breaker_failures = config.http_api_breaker_failures;
  o.breaker_open_ms = config.http_api_breaker_open_ms;
  return o;
}

CoreGatewayHttp::CoreGatewayHttp(const Config& config, CoreGatewayDeps deps,
                                 SettingsStore& settings, Metrics* metrics, Health health)
    : keys_(settings, deps.clock, config.http_api_keys_reload_interval_ms),
      revocations_(settings, deps.clock),
      deps_(std::move(deps)),
      api_(deps_.tokens, &keys_, deps_.clock, metrics, HttpApiOptionsFrom(config)),
      console_(ResolveConsoleRoot(config.console_root)),
      health_(std::move(health)) {
  deps_.api_keys = &keys_;
  deps_.revocations = &revocations_;
  api_.SetRevocations(&revocations_);
  AddCoreGatewayRoutes(api_, deps_);
}

HttpHandler CoreGatewayHttp::Handler() {
  return [this](HttpServerRequest request, HttpRespond respond) {
    if (HttpApi::IsApiPath(request.path))
      return api_.Handle(std::move(request), std::move(respond));
    const std::string& path = request.path;
    if (path == "/healthz" || path == "/readyz" || path == "/metrics" || !console_.enabled()) {
      return respond(health_(request));
    }
    respond(console_.Serve(request));
  };
}

}  // namespace flare
