// Process metrics in the Prometheus text format. Counters and gauges are
// relaxed atomics so the hot path never takes a lock to count.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
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

// Latency histogram with fixed millisecond buckets.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBoundsMs = {0.25, 0.5, 1,   2,   5,    10,   20,
                                                       50,   100, 200, 500, 1000, 2000, 5000};
  void ObserveMs(double ms);
  std::string Render(const std::string& name) const;

 private:
  std::array<std::atomic<int64_t>, kBoundsMs.size() + 1> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_us_{0};
};

class Metrics {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help);
  Gauge& AddGauge(const std::string& name, const std::string& help);
  Histogram& AddHistogram(const std::string& name, const std::string& help);
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
  Histogram& send_to_ack_ms;
  Gauge& pending_writes;
  Counter& inbox_publish_failures;
  Counter& inbox_records_in;
};

}  // namespace flare
