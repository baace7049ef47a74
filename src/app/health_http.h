// The HTTP endpoints every flare process serves, embedded or one role:
// /healthz (alive), /readyz (503 while draining) and Prometheus /metrics
// (loopback only, or behind server.metrics_token).
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

class HealthHttp {
 public:
  // `metrics` and `draining` must outlive this object.
  HealthHttp(const Metrics& metrics, std::string metrics_token, const std::atomic<bool>& draining)
      : metrics_(metrics), metrics_token_(std::move(metrics_token)), draining_(draining) {}

  HttpServerResponse Handle(const HttpServerRequest& request) const;

 private:
  std::optional<HttpServerResponse> RefuseMetrics(const HttpServerRequest& request) const;

  const Metrics& metrics_;
  std::string metrics_token_;
  const std::atomic<bool>& draining_;
};

}  // namespace flare
