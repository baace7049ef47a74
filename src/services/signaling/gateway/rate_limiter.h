// Per-user token buckets: `per_second` requests on average, bursts of up to
// `burst`. Keyed by (tenant, user) so that all of a user's connections share
// one budget. Sharded: a request locks only its user's shard. A bucket that
// has refilled completely is the same as no bucket, so Sweep() drops those
// and idle users do not accumulate.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace flare {

struct RateLimit {
  int64_t per_second = 0;  // 0: unlimited
  int64_t burst = 1;
};

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int64_t retry_after_ms = 0;  // when refused: the wait until one request is allowed
  };

  RateLimiter(RateLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  // Takes one request from the user's bucket.
  Decision Take(const std::string& tenant, const std::string& user);
  // Drops the buckets of one shard that are full again (round-robin over
  // calls), so a call costs one shard's lock, never all of them.
  void Sweep();
  size_t BucketCount() const;

 private:
  // Tokens are counted in thousandths so that refill is exact integer math:
  // `per_second` tokens a second is `per_second` milli-tokens a millisecond.
  static constexpr int64_t kOne = 1000;
  struct Bucket {
    int64_t milli_tokens;
    int64_t updated_ms;
  };
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // tenant '\n' user
  };
  int64_t Refilled(const Bucket& b, int64_t now_ms) const;

  const RateLimit limit_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> next_sweep_{0};
};

}  // namespace flare
