// Per-hook statistics, exported on /metrics with a hook="<name>" label:
// flare_hook_calls_total, flare_hook_failures_total (timeouts included),
// flare_hook_timeouts_total, flare_hook_rejections_total,
// flare_hook_dead_letters_total, flare_hook_dropped_total and flare_hook_latency_seconds.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/metrics.h"

namespace flare {

struct HookStats {
  Counter calls;         // calls started (every attempt of a delivery counts)
  Counter failures;      // unreachable, error answer, timeout, over the concurrency limit
  Counter timeouts;      // of the failures, those whose deadline passed
  Counter rejections;    // pre-* calls that refused the action
  Counter dead_letters;  // post-* deliveries given up after max_attempts
  Counter dropped;       // post-* deliveries not queued: the queue was full
  Histogram latency;     // call start to answer, failures included
};

// The stats of every hook ever configured, by name (kept across reloads,
// so counters only grow).
class HookStatsRegistry {
 public:
  // Registers the /metrics collector on `metrics` (may be null).
  explicit HookStatsRegistry(Metrics* metrics);
  std::shared_ptr<HookStats> For(const std::string& hook);
  std::map<std::string, std::shared_ptr<HookStats>> All() const;
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HookStats>> by_name_;
};

}  // namespace flare
