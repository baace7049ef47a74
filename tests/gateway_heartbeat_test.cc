// GatewayHeartbeat keeps its gateway's routes alive in the route table.
#include "services/signaling/online/gateway_heartbeat.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <deque>
#include <functional>

#include "support/counting_route_table.h"
#include "support/forwarding_route_table.h"

namespace flare {
namespace {

using testing::CountingRouteTable;

TEST(GatewayHeartbeat, BeatsAtOnceAndThenEveryIntervalUntilStopped) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::milliseconds(10));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats("gw1", 3));
  heartbeat.Stop();
  int after_stop = table.beats("gw1");
  EXPECT_GE(heartbeat.beats(), 3u);
  EXPECT_EQ(static_cast<int>(heartbeat.beats()), after_stop);
  heartbeat.Stop();                           // twice is fine
  EXPECT_EQ(table.beats("gw1"), after_stop);  // Stop() joined: no beat can follow
}

TEST(GatewayHeartbeat, StopDoesNotWaitForTheInterval) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::hours(1));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats("gw1", 1));
  auto start = std::chrono::steady_clock::now();
  heartbeat.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Answers its beats from a script (then kAlive), counting them.
class ScriptedBeats : public testing::ForwardingRouteTable {
 public:
  explicit ScriptedBeats(std::deque<Result<GatewayLiveness>> script,
                         std::function<void(int beat)> during = {})
      : script_(std::move(script)), during_(std::move(during)) {}
  Result<GatewayLiveness> Heartbeat(const std::string&) override {
    std::lock_guard lock(mu_);
    ++beats_;
    if (during_) during_(beats_);
    cv_.notify_all();
    if (script_.empty()) return GatewayLiveness::kAlive;
    auto next = script_.front();
    script_.pop_front();
    return next;
  }
  bool WaitForBeats(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return beats_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Result<GatewayLiveness>> script_;
  const std::function<void(int)> during_;
  int beats_ = 0;
};

// A lapse (a Redis restarted empty) registers the gateway's routes again;
// good beats and failed ones do not (a signaling-online restart would
// have every gateway register every session again).
TEST(GatewayHeartbeat, ALapseRegistersTheRoutesAgainAFailedBeatDoesNot) {
  ScriptedBeats table({GatewayLiveness::kAlive, GatewayLiveness::kLapsed, GatewayLiveness::kAlive,
                       Unavailable("redis down"), GatewayLiveness::kAlive,
                       GatewayLiveness::kAlive});
  std::atomic<int> registered{0};
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::milliseconds(1), [&](RouteRepair repair) {
    EXPECT_EQ(repair, RouteRepair::kEverySession);
    ++registered;
  });
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(8));
  heartbeat.Stop();
  EXPECT_EQ(registered.load(), 1);
  EXPECT_EQ(heartbeat.lapses(), 1u);
}

// Routes that could not be registered again (the table failed, a login
// lane was full) are tried again at every beat until none is left.
TEST(GatewayHeartbeat, AnIncompleteRegistrationIsTriedAgainAtTheNextBeats) {
  ScriptedBeats table({GatewayLiveness::kLapsed});
  std::atomic<int> registered{0}, unfinished{0};
  std::atomic<bool> incomplete{true};
  GatewayHeartbeat heartbeat(
      table, "gw1", std::chrono::milliseconds(1),
      [&](RouteRepair repair) {
        if (repair == RouteRepair::kUnfinished) ++unfinished;
        if (++registered == 3) incomplete = false;
      },
      [&] { return incomplete.load(); });
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(10));
  heartbeat.Stop();
  EXPECT_EQ(registered.load(), 3);
  EXPECT_EQ(unfinished.load(), 2);  // only the first was a lapse
  EXPECT_EQ(heartbeat.lapses(), 1u);
}

// A gateway whose beats fail for a TTL counts as dead: after a failure the
// next beat does not wait for the interval (here an hour).
TEST(GatewayHeartbeat, AFailedBeatIsTriedAgainWithinTheInterval) {
  ScriptedBeats table({Unavailable("connection 1 broken"), Unavailable("connection 2 broken"),
                       GatewayLiveness::kAlive});
  std::atomic<int> registered{0};
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::hours(1),
                             [&](RouteRepair) { ++registered; });
  heartbeat.Start();
  EXPECT_TRUE(table.WaitForBeats(3));
  heartbeat.Stop();
  EXPECT_EQ(heartbeat.beats(), 1u);
  EXPECT_EQ(registered.load(), 0);
}

// The beat that found the key gone may have lost its reply: the next finds
// the key it set and reports kAlive. Beats that failed for the table's TTL
// (the clock moves while the second fails) count as a lapse all the same.
TEST(GatewayHeartbeat, AGoodBeatAfterNoneForATtlIsALapse) {
  constexpr auto kTtl = std::chrono::milliseconds(30'000);
  ManualClock clock;
  ScriptedBeats table({GatewayLiveness::kAlive, Unavailable("reply lost"), GatewayLiveness::kAlive,
                       GatewayLiveness::kAlive},
                      [&](int beat) {
                        if (beat == 2) clock.Advance(kTtl.count());
                      });
  std::atomic<int> registered{0};
  GatewayHeartbeat heartbeat(
      table, "gw1", std::chrono::milliseconds(1), [&](RouteRepair) { ++registered; }, {}, kTtl,
      clock);
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(5));
  heartbeat.Stop();
  EXPECT_EQ(registered.load(), 1);
  EXPECT_EQ(heartbeat.lapses(), 1u);
}

// Failures shorter than the TTL are no lapse: the key never expired.
TEST(GatewayHeartbeat, BeatsThatFailedForLessThanATtlAreNoLapse) {
  constexpr auto kTtl = std::chrono::milliseconds(30'000);
  ManualClock clock;
  ScriptedBeats table({GatewayLiveness::kAlive, Unavailable("down"), Unavailable("down"),
                       GatewayLiveness::kAlive, GatewayLiveness::kAlive},
                      [&](int) { clock.Advance(kTtl.count() / 4); });
  std::atomic<int> registered{0};
  GatewayHeartbeat heartbeat(
      table, "gw1", std::chrono::milliseconds(1), [&](RouteRepair) { ++registered; }, {}, kTtl,
      clock);
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(6));
  heartbeat.Stop();
  EXPECT_EQ(registered.load(), 0);
}

}  // namespace
}  // namespace flare
