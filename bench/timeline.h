// Events per fixed-width time bucket from the start of the measured window
// (throughput over time). Add is lock-free and may run on any thread; events
// before Start or past the last bucket are not counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace flare::bench {

class Timeline {
 public:
  Timeline(int64_t bucket_us, size_t buckets)
      : bucket_us_(bucket_us), size_(buckets), counts_(new std::atomic<int64_t>[buckets]) {
    for (size_t i = 0; i < size_; ++i) counts_[i] = 0;
  }

  // Starts counting at `start_us` (same clock as Add's argument) from zero.
  void Start(int64_t start_us) {
    for (size_t i = 0; i < size_; ++i) counts_[i] = 0;
    start_us_ = start_us;
  }

  void Add(int64_t at_us) {
    int64_t start = start_us_.load(std::memory_order_relaxed);
    if (at_us < start) return;
    auto i = static_cast<size_t>((at_us - start) / bucket_us_);
    if (i < size_) counts_[i].fetch_add(1, std::memory_order_relaxed);
  }

  int64_t bucket_us() const { return bucket_us_; }

  // The counts of the buckets that start before `end_us`.
  std::vector<int64_t> Counts(int64_t end_us) const {
    std::vector<int64_t> out;
    int64_t start = start_us_.load();
    for (size_t i = 0; i < size_ && start + static_cast<int64_t>(i) * bucket_us_ < end_us; ++i)
      out.push_back(counts_[i].load());
    return out;
  }

 private:
  int64_t bucket_us_;
  size_t size_;
  std::unique_ptr<std::atomic<int64_t>[]> counts_;
  std::atomic<int64_t> start_us_{std::numeric_limits<int64_t>::max()};
};

}  // namespace flare::bench
