// push-worker's figures, per tenant (the admin read) and per provider
// (/metrics, with a provider="apns|fcm|webhook" label): sends delivered,
// attempts that failed, retries scheduled, tasks dead-lettered, tokens
// disabled.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/metrics.h"

namespace flare {

struct PushStats {
  int64_t sent = 0;            // delivered
  int64_t failed = 0;          // attempts that did not deliver (any reason)
  int64_t retried = 0;         // attempts scheduled again after a retriable failure
  int64_t dead_lettered = 0;   // tasks given up: attempts exhausted, rejected, no provider
  int64_t token_disabled = 0;  // tokens a provider called invalid, disabled in the device store
};

enum class PushEvent { kSent, kFailed, kRetried, kDeadLettered, kTokenDisabled };

class PushStatsBook {
 public:
  // Registers the /metrics collector on `metrics` (may be null); the
  // collector keeps the book alive.
  static std::shared_ptr<PushStatsBook> Make(Metrics* metrics);

  void Count(const std::string& tenant, const std::string& provider, PushEvent event);
  PushStats OfTenant(const std::string& tenant) const;
  std::map<std::string, PushStats> ByTenant() const;
  PushStats OfProvider(const std::string& provider) const;
  std::string Render() const;  // Prometheus text, per provider

 private:
  mutable std::mutex mu_;
  std::map<std::string, PushStats> by_tenant_;
  std::map<std::string, PushStats> by_provider_;
};

}  // namespace flare
