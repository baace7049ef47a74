#include "common/metrics.h"

#include <fmt/format.h>

#include "common/process_metrics.h"

namespace flare {

const std::vector<double> Histogram::kLatencySeconds = {
    0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
const std::vector<double> Histogram::kSizes = {1,   2,   5,   10,   20,   50,
                                               100, 200, 500, 1000, 2000, 5000};

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<int64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<int64_t> Histogram::BucketCounts() const {
  std::vector<int64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::string Histogram::Render(const std::string& name, const std::string& labels) const {
  std::string out;
  std::string prefix = labels.empty() ? "" : labels + ",";
  std::string braced = labels.empty() ? "" : "{" + labels + "}";
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bounds_[i], cumulative);
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  out += fmt::format("{}_sum{} {}\n", name, braced, Sum());
  out += fmt::format("{}_count{} {}\n", name, braced, Count());
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

Histogram& Metrics::AddHistogram(const std::string& name, const std::string& help,
                                 std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& e = entries_.emplace_back(Entry{name, help, "histogram", nullptr, nullptr,
                                        std::make_unique<Histogram>(std::move(bounds))});
  return *e.histogram;
}

void Metrics::AddCollector(std::function<std::string()> render) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(render));
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
  for (const auto& collect : collectors_) out += collect();
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
      store_checkpoint_ms(m.AddHistogram(
          "flare_store_checkpoint_seconds",
          "log checkpoint duration (SQLite: WAL into the database file); no batch is written "
          "meanwhile")),
      store_batch_messages(m.AddHistogram(
          "flare_store_batch_messages",
          "messages stored per committed group-commit batch (batches that store no message, "
          "such as cursor updates only, are not observed)",
          Histogram::kSizes)),
      send_to_ack_ms(
          m.AddHistogram("flare_send_to_ack_seconds", "send received to send-ack emitted")),
      delivery_ms(m.AddHistogram(
          "flare_message_delivery_seconds",
          "a message's server_time_ms (stamped by the storage writer as it sequences the "
          "message, just before its batch commits) to the push ack of a recipient device, by "
          "the wall clock; one observation per push settled by an ack, resent pushes included")),
      pending_writes(m.AddGauge("flare_pending_writes", "writes queued for the storage writer")),
      ingest_lag_records(m.AddGauge(
          "flare_ingest_consumer_lag_records",
          "records of the ingest stream partitions this storage writer owns that it has not "
          "read yet (partition end minus read position, as of its last poll); always 0 "
          "without a stream (bus.backend = inprocess)")),
      ingest_partitions_owned(m.AddGauge(
          "flare_ingest_partitions_owned",
          "ingest stream partitions this storage writer owns (claimed in the store); summed "
          "over the writers it is bus.ingest_partitions once the consumer group has settled")),
      inbox_publish_failures(
          m.AddCounter("flare_gateway_inbox_publish_failures_total",
                       "outcomes, pushes and notices for other gateways the bus did not take")),
      inbox_records_in(m.AddCounter("flare_gateway_inbox_records_total",
                                    "gateway inbox records received for this gateway")) {
  m.AddCollector(RenderProcessMetrics);
}

}  // namespace flare
