#include "common/metrics.h"

#include <fmt/format.h>

namespace flare {

void Histogram::ObserveMs(double ms) {
  size_t i = 0;
  while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<int64_t>(ms * 1000), std::memory_order_relaxed);
}

std::string Histogram::Render(const std::string& name) const {
  std::string out;
  int64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsMs.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBoundsMs[i] / 1000.0, cumulative);
  }
  cumulative += buckets_.back().load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n", name, sum_us_.load(std::memory_order_relaxed) / 1e6);
  out += fmt::format("{}_count {}\n", name, count_.load(std::memory_order_relaxed));
  return out;
}

Counter& Metrics::AddCounter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& e = entries_.emplace_back(
      Entry{name, help, "counter", std::make_unique<Counter>(), nullptr, nullptr});
  return *e.counter;
}

Gauge& Metrics::AddGauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& e = entries_.emplace_back(
      Entry{name, help, "gauge", nullptr, std::make_unique<Gauge>(), nullptr});
  return *e.gauge;
}

Histogram& Metrics::AddHistogram(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& e = entries_.emplace_back(
      Entry{name, help, "histogram", nullptr, nullptr, std::make_unique<Histogram>()});
  return *e.histogram;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", e.name, e.help, e.name, e.type);
    if (e.counter) out += fmt::format("{} {}\n", e.name, e.counter->Value());
    if (e.gauge) out += fmt::format("{} {}\n", e.name, e.gauge->Value());
    if (e.histogram) out += e.histogram->Render(e.name);
  }
  return out;
}

ServerMetrics::ServerMetrics(Metrics& m)
    : connections(m.AddGauge("flare_connections", "open WebSocket connections")),
      authenticated(m.AddGauge("flare_connections_authenticated", "authenticated connections")),
      connections_total(m.AddCounter("flare_connections_total", "connections accepted")),
      auth_failures(m.AddCounter("flare_auth_failures_total", "rejected auth attempts")),
      frames_in(m.AddCounter("flare_frames_in_total", "client frames received")),
      frames_bad(m.AddCounter("flare_frames_bad_total", "client frames rejected as malformed")),
      messages_stored(m.AddCounter("flare_messages_stored_total", "messages durably stored")),
      messages_duplicate(
          m.AddCounter("flare_messages_duplicate_total", "sends answered from idempotency")),
      send_rejected(m.AddCounter("flare_send_rejected_total", "sends refused")),
      pushes_sent(m.AddCounter("flare_pushes_sent_total", "messages pushed to devices")),
      pushes_resent(m.AddCounter("flare_pushes_resent_total", "pushes resent after timeout")),
      push_acks(m.AddCounter("flare_push_acks_total", "cumulative push acks received")),
      slow_consumers_closed(
          m.AddCounter("flare_slow_consumers_closed_total", "connections closed as too slow")),
      rate_limited(m.AddCounter("flare_rate_limited_total", "requests refused by a rate limit")),
      connections_refused(m.AddCounter("flare_connections_refused_total",
                                       "connections closed for a per-user or per-address limit")),
      store_batches(m.AddCounter("flare_store_batches_total", "group-commit batches")),
      store_commit_ms(m.AddHistogram("flare_store_commit_seconds", "group commit duration")),
      send_to_ack_ms(
          m.AddHistogram("flare_send_to_ack_seconds", "send received to send-ack emitted")),
      pending_writes(m.AddGauge("flare_pending_writes", "writes queued for the storage writer")),
      inbox_publish_failures(
          m.AddCounter("flare_gateway_inbox_publish_failures_total",
                       "outcomes, pushes and notices for other gateways the bus did not take")),
      inbox_records_in(m.AddCounter("flare_gateway_inbox_records_total",
                                    "gateway inbox records received for this gateway")) {}

}  // namespace flare
