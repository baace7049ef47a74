// A latency histogram in the HDR style: every sample counted (no sampling),
// log-linear buckets with under 1.6% relative error from 1 us to days.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace flare::bench {

class Histogram {
 public:
  Histogram() : counts_(kBuckets, 0) {}

  void Record(uint64_t micros) {
    ++counts_[Index(micros)];
    ++total_;
    max_ = std::max(max_, micros);
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // The value at quantile q (0..1), as the upper edge of its bucket, in us.
  uint64_t Quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }
  // Calls fn(upper edge in us, count) for every bucket holding samples, in
  // ascending order.
  template <class Fn>
  void ForEach(Fn fn) const {
    for (size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] > 0) fn(std::min(UpperEdge(i), max_), counts_[i]);
    }
  }

 private:
  static constexpr int kSubBits = 6;  // 64 linear sub-buckets per power of two
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = 2 * kSub + 58 * kSub;

  static size_t Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - kSubBits;
    return static_cast<size_t>(2 * kSub + static_cast<uint64_t>(shift - 1) * kSub +
                               ((v >> shift) - kSub));
  }
  static uint64_t UpperEdge(size_t i) {
    if (i < 2 * kSub) return i;
    uint64_t shift = (i - 2 * kSub) / kSub + 1;
    uint64_t mantissa = (i - 2 * kSub) % kSub + kSub;
    return ((mantissa + 1) << shift) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace flare::bench
