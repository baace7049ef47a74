// Per-user rate limits and per-key connection counts, with a manual clock.
#include <gtest/gtest.h>

#include <memory>

#include "common/clock.h"
#include "common/connection_quota.h"
#include "services/signaling/gateway/rate_limiter.h"

namespace flare {
namespace {

TEST(RateLimiter, AllowsTheBurstThenRefusesWithTheWaitUntilTheNextToken) {
  ManualClock clock;
  RateLimiter limiter({/*per_second=*/4, /*burst=*/3}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("t", "alice").allowed) << i;
  RateLimiter::Decision refused = limiter.Take("t", "alice");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 250);  // one token per 250 ms at 4/s
  clock.Advance(249);
  refused = limiter.Take("t", "alice");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 1);
  clock.Advance(1);
  EXPECT_TRUE(limiter.Take("t", "alice").allowed);
  EXPECT_FALSE(limiter.Take("t", "alice").allowed);
}

TEST(RateLimiter, SustainedRateIsThePerSecondRate) {
  ManualClock clock;
  RateLimiter limiter({/*per_second=*/10, /*burst=*/1}, clock);
  int allowed = 0;
  for (int ms = 0; ms < 10'000; ++ms) {  // try once a millisecond for 10 s
    allowed += limiter.Take("t", "alice").allowed ? 1 : 0;
    clock.Advance(1);
  }
  EXPECT_EQ(allowed, 100);
}

TEST(RateLimiter, UsersAndTenantsHaveTheirOwnBuckets) {
  ManualClock clock;
  RateLimiter limiter({1, 1}, clock);
  EXPECT_TRUE(limiter.Take("t", "alice").allowed);
  EXPECT_FALSE(limiter.Take("t", "alice").allowed);
  EXPECT_TRUE(limiter.Take("t", "bob").allowed);
  EXPECT_TRUE(limiter.Take("other", "alice").allowed);
}

TEST(RateLimiter, ZeroRateMeansNoLimitAndNoState) {
  ManualClock clock;
  RateLimiter limiter({0, 1}, clock);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limiter.Take("t", "alice").allowed);
  EXPECT_EQ(limiter.BucketCount(), 0u);
}

TEST(RateLimiter, SweepForgetsUsersWhoseBucketRefilled) {
  ManualClock clock;
  RateLimiter limiter({10, 5}, clock);
  for (int u = 0; u < 1000; ++u) limiter.Take("t", "user" + std::to_string(u));
  limiter.Take("t", "busy");
  EXPECT_EQ(limiter.BucketCount(), 1001u);
  clock.Advance(50);  // half a token back: nobody is full yet
  for (int i = 0; i < 64; ++i) limiter.Sweep();
  EXPECT_EQ(limiter.BucketCount(), 1001u);
  clock.Advance(450);  // 500 ms: every bucket refilled to its burst of 5
  limiter.Take("t", "busy");
  for (int i = 0; i < 64; ++i) limiter.Sweep();  // one shard per call
  EXPECT_EQ(limiter.BucketCount(), 1u);          // only the user who just sent
}

TEST(ConnectionQuota, RefusesBeyondTheLimitAndReleasesIdempotently) {
  ConnectionQuota quota;
  EXPECT_TRUE(quota.Acquire("alice", 1, 2));
  EXPECT_TRUE(quota.Acquire("alice", 1, 2));  // the same session again: no second slot
  EXPECT_TRUE(quota.Acquire("alice", 2, 2));
  EXPECT_FALSE(quota.Acquire("alice", 3, 2));
  EXPECT_TRUE(quota.Acquire("bob", 3, 2));
  quota.Release("alice", 1);
  quota.Release("alice", 1);  // twice: harmless
  quota.Release("alice", 9);  // never held a slot: harmless
  EXPECT_EQ(quota.Count("alice"), 1u);
  EXPECT_TRUE(quota.Acquire("alice", 3, 2));
  quota.Release("alice", 2);
  quota.Release("alice", 3);
  EXPECT_EQ(quota.Count("alice"), 0u);
}

TEST(QuotaSlot, HoldsItsSlotUntilReleasedMovedOrDestroyed) {
  auto quota = std::make_shared<ConnectionQuota>();
  {
    QuotaSlot a(quota, "10.0.0.1", 1, 2);
    QuotaSlot b(quota, "10.0.0.1", 2, 2);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    QuotaSlot c(quota, "10.0.0.1", 3, 2);
    EXPECT_FALSE(c) << "a third slot of two";
    EXPECT_TRUE(QuotaSlot(quota, "10.0.0.2", 3, 2)) << "another address has its own";
    EXPECT_EQ(quota->Count("10.0.0.2"), 0u);  // that temporary gave its slot back
    a.Release();
    a.Release();  // twice is harmless
    EXPECT_EQ(quota->Count("10.0.0.1"), 1u);
    QuotaSlot moved = std::move(b);
    EXPECT_EQ(quota->Count("10.0.0.1"), 1u);  // moving keeps the one slot
    moved = QuotaSlot(quota, "10.0.0.3", 4, 2);
    EXPECT_EQ(quota->Count("10.0.0.1"), 0u);  // assigning over a slot gives it back
    EXPECT_EQ(quota->Count("10.0.0.3"), 1u);
  }
  EXPECT_EQ(quota->Count("10.0.0.3"), 0u);
}

}  // namespace
}  // namespace flare
