#include "app/health_http.h"

#include <string_view>

namespace flare {
namespace {

// Compares without returning early on the first difference.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % b.size()]);
  return diff == 0;
}

}  // namespace

HttpServerResponse HealthHttp::Handle(const HttpServerRequest& r) const {
  if (r.method != "GET") return {405, "text/plain", "only GET\n"};
  if (r.path == "/healthz") return {200, "text/plain", "ok\n"};
  if (r.path == "/readyz") {
    return draining_ ? HttpServerResponse{503, "text/plain", "draining\n"}
                     : HttpServerResponse{200, "text/plain", "ready\n"};
  }
  if (r.path == "/metrics") {
    if (auto refused = RefuseMetrics(r)) return *refused;
    return {200, "text/plain; version=0.0.4", metrics_.Render()};
  }
  return {404, "text/plain", "not found\n"};
}

// /metrics tells a lot about the server: with server.metrics_token set it
// needs that bearer token, without it only loopback clients get it.
std::optional<HttpServerResponse> HealthHttp::RefuseMetrics(const HttpServerRequest& r) const {
  const std::string& token = metrics_token_;
  if (token.empty()) {
    if (r.from_loopback) return std::nullopt;
    return HttpServerResponse{403, "text/plain",
                        "/metrics is served to loopback clients only; set "
                        "server.metrics_token to allow others\n"};
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view header = r.Header("authorization");
  std::string_view given = header.substr(0, kBearer.size()) == kBearer
                               ? header.substr(kBearer.size())
                               : std::string_view();
  if (SameSecret(given, token)) return std::nullopt;
  return HttpServerResponse{401, "text/plain", "/metrics needs Authorization: Bearer <token>\n"};
}

}  // namespace flare
