#include "rpc/hooks/hook_spec_codec.h"

#include <limits>

namespace flare {

namespace pb = ::hooks::v1;

HookConfig FromSpec(const pb::HookSpec& spec) {
  HookConfig h;
  h.name = spec.name();
  h.point = spec.point();
  h.url = spec.url();
  h.secret = spec.secret();
  h.tenants.assign(spec.tenants().begin(), spec.tenants().end());
  h.conversation_types.assign(spec.conversation_types().begin(), spec.conversation_types().end());
  h.message_types.assign(spec.message_types().begin(), spec.message_types().end());
  if (spec.has_priority()) h.priority = spec.priority();
  if (spec.has_timeout_ms()) h.timeout_ms = spec.timeout_ms();
  if (spec.has_failure_policy()) h.failure_policy = spec.failure_policy();
  if (spec.has_max_concurrency()) h.max_concurrency = spec.max_concurrency();
  if (spec.has_max_attempts()) h.max_attempts = spec.max_attempts();
  if (spec.has_backoff_ms()) h.backoff_ms = spec.backoff_ms();
  return h;
}

pb::HookSpec ToSpec(const HookConfig& h) {
  pb::HookSpec spec;
  spec.set_name(h.name);
  spec.set_point(h.point);
  spec.set_url(h.url);
  for (const auto& t : h.tenants) spec.add_tenants(t);
  for (const auto& t : h.conversation_types) spec.add_conversation_types(t);
  for (const auto& t : h.message_types) spec.add_message_types(t);
  spec.set_priority(h.priority);
  spec.set_timeout_ms(h.timeout_ms);
  spec.set_failure_policy(h.failure_policy);
  spec.set_max_concurrency(h.max_concurrency);
  spec.set_max_attempts(h.max_attempts);
  spec.set_backoff_ms(h.backoff_ms);
  return spec;
}

void FillStatistics(const std::string& name, const HookStats& stats, pb::HookStatistics& out) {
  out.set_name(name);
  out.set_calls(stats.calls.Value());
  out.set_failures(stats.failures.Value());
  out.set_timeouts(stats.timeouts.Value());
  out.set_rejections(stats.rejections.Value());
  out.set_dead_letters(stats.dead_letters.Value());
  out.set_dropped(stats.dropped.Value());
  const auto& bounds = stats.latency.bounds();
  auto counts = stats.latency.BucketCounts();
  int64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    auto* bucket = out.add_latency();
    bucket->set_le_seconds(i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity());
    bucket->set_count(cumulative);
  }
  out.set_latency_sum_seconds(stats.latency.Sum());
  out.set_latency_count(stats.latency.Count());
}

}  // namespace flare
