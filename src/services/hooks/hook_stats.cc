#include "services/hooks/hook_stats.h"

#include <fmt/format.h>

namespace flare {

HookStatsRegistry::HookStatsRegistry(Metrics* metrics) {
  if (metrics != nullptr) metrics->AddCollector([this] { return Render(); });
}

std::shared_ptr<HookStats> HookStatsRegistry::For(const std::string& hook) {
  std::lock_guard lock(mu_);
  auto& stats = by_name_[hook];
  if (!stats) stats = std::make_shared<HookStats>();
  return stats;
}

std::map<std::string, std::shared_ptr<HookStats>> HookStatsRegistry::All() const {
  std::lock_guard lock(mu_);
  return by_name_;
}

std::string HookStatsRegistry::Render() const {
  std::lock_guard lock(mu_);
  if (by_name_.empty()) return "";
  std::string out;
  struct Family {
    const char* name;
    const char* help;
    Counter HookStats::*counter;
  };
  static const Family kFamilies[] = {
      {"flare_hook_calls_total", "hook calls started, retries included", &HookStats::calls},
      {"flare_hook_failures_total",
       "hook calls that failed (unreachable, error answer, timeout, over max_concurrency)",
       &HookStats::failures},
      {"flare_hook_timeouts_total", "hook calls whose timeout passed", &HookStats::timeouts},
      {"flare_hook_rejections_total", "pre-* hook calls that refused the action",
       &HookStats::rejections},
      {"flare_hook_dead_letters_total", "post-* deliveries dead-lettered after max_attempts",
       &HookStats::dead_letters},
      {"flare_hook_dropped_total", "post-* deliveries not queued because the queue was full",
       &HookStats::dropped},
  };
  for (const auto& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f.name, f.help, f.name);
    for (const auto& [name, stats] : by_name_) {
      out += fmt::format("{}{{hook=\"{}\"}} {}\n", f.name, name, ((*stats).*f.counter).Value());
    }
  }
  const char* latency = "flare_hook_latency_seconds";
  out += fmt::format("# HELP {} hook call start to answer or failure\n# TYPE {} histogram\n",
                     latency, latency);
  for (const auto& [name, stats] : by_name_) {
    out += stats->latency.Render(latency, fmt::format("hook=\"{}\"", name));
  }
  return out;
}

}  // namespace flare
