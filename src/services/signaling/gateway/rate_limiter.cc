#include "services/signaling/gateway/rate_limiter.h"

#include <algorithm>
#include <functional>

namespace flare {

int64_t RateLimiter::Refilled(const Bucket& b, int64_t now_ms) const {
  int64_t elapsed = std::max<int64_t>(0, now_ms - b.updated_ms);
  int64_t capacity = limit_.burst * kOne;
  // Past the time a full refill takes, the bucket is full (and the
  // multiplication below cannot overflow).
  if (elapsed >= capacity / limit_.per_second + 1) return capacity;
  return std::min(capacity, b.milli_tokens + elapsed * limit_.per_second);
}

RateLimiter::Decision RateLimiter::Take(const std::string& tenant, const std::string& user) {
  if (limit_.per_second <= 0) return {};
  std::string key = tenant + '\n' + user;
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(shard.mu);
  auto [it, fresh] = shard.buckets.try_emplace(key, Bucket{limit_.burst * kOne, now});
  Bucket& b = it->second;
  b.milli_tokens = Refilled(b, now);
  b.updated_ms = now;
  if (b.milli_tokens >= kOne) {
    b.milli_tokens -= kOne;
    return {};
  }
  int64_t missing = kOne - b.milli_tokens;
  return {false, (missing + limit_.per_second - 1) / limit_.per_second};
}

void RateLimiter::Sweep() {
  if (limit_.per_second <= 0) return;
  Shard& shard = shards_[next_sweep_.fetch_add(1) % kShards];
  int64_t now = clock_.MonotonicMs();
  int64_t capacity = limit_.burst * kOne;
  std::lock_guard lock(shard.mu);
  std::erase_if(shard.buckets,
                [&](const auto& entry) { return Refilled(entry.second, now) >= capacity; });
}

size_t RateLimiter::BucketCount() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace flare
