// Process metrics in the Prometheus text format. Counters and gauges are
// relaxed atomics so the hot path never takes a lock to count.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flare {

class Counter {
 public:
  void Add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A histogram with fixed buckets, exported in the unit its bounds are in
// (seconds for latencies, a count for sizes).
class Histogram {
 public:
  // Latency buckets, 0.25 ms to 5 s.
  static const std::vector<double> kLatencySeconds;
  // Size buckets (messages per batch and the like), 1 to 5000.
  static const std::vector<double> kSizes;

  explicit Histogram(std::vector<double> bounds = kLatencySeconds);
  void Observe(double value);
  // For latency histograms: takes milliseconds, exports seconds.
  void ObserveMs(double ms) { Observe(ms / 1000.0); }
  int64_t Count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations per bucket (not cumulative): one per bound, then +Inf.
  std::vector<int64_t> BucketCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  std::string Render(const std::string& name) const { return Render(name, ""); }
  // With labels (`hook="x"`) put before `le` on every line.
  std::string Render(const std::string& name, const std::string& labels) const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<int64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help);
  Gauge& AddGauge(const std::string& name, const std::string& help);
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds = Histogram::kLatencySeconds);
  // Text appended to every Render, produced at scrape time (figures read
  // from elsewhere, such as /proc). It must carry its own HELP and TYPE.
  void AddCollector(std::function<std::string()> render);
  std::string Render() const;

 private:
  struct Entry {
    std::string name, help, type;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  mutable std::mutex mu_;  // guards registration and rendering only
  std::vector<Entry> entries_;
  std::vector<std::function<std::string()>> collectors_;
};

// The figures the embedded server exports.
struct ServerMetrics {
  explicit ServerMetrics(Metrics& m);
  Gauge& connections;
  Gauge& authenticated;
  Counter& connections_total;
  Counter& auth_failures;
  Counter& frames_in;
  Counter& frames_bad;
  Counter& messages_stored;
  Counter& messages_duplicate;
  Counter& send_rejected;
  Counter& pushes_sent;
  Counter& pushes_resent;
  Counter& push_acks;
  Counter& slow_consumers_closed;
  Counter& rate_limited;
  Counter& connections_refused;
  Counter& store_batches;
  Histogram& store_commit_ms;
  Histogram& store_checkpoint_ms;
  Histogram& store_batch_messages;
  Histogram& send_to_ack_ms;
  Histogram& delivery_ms;
  Gauge& pending_writes;
  Gauge& ingest_lag_records;
  Gauge& ingest_partitions_owned;
  Counter& inbox_publish_failures;
  Counter& inbox_records_in;
};

}  // namespace flare
