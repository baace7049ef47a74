// ShardedRouteTable: the route-table contract over independent memory
// tables (lookups split by user, heartbeats to every table), and calls for
// users on different tables not waiting for each other.
#include <condition_variable>
#include <future>
#include <mutex>

#include "adapters/memory/memory_route_table.h"
#include "adapters/sharded/sharded_route_table.h"
#include "common/clock.h"
#include "route_table_contract.h"
#include "support/forwarding_route_table.h"

namespace flare {
namespace {

RouteTableUnderTest ShardedMemoryTables() {
  auto clock = std::make_shared<ManualClock>();
  std::vector<std::shared_ptr<RouteTable>> tables;
  for (int i = 0; i < 3; ++i) {
    tables.push_back(
        std::make_shared<MemoryRouteTable>(*clock, MemoryRouteTable::kDefaultGatewayTtlMs));
  }
  auto sharded = std::make_shared<ShardedRouteTable>(std::move(tables), false);
  std::shared_ptr<RouteTable> owned(sharded.get(), [sharded, clock](RouteTable*) mutable {
    sharded.reset();
    clock.reset();
  });
  return {owned, [clock] { clock->Advance(MemoryRouteTable::kDefaultGatewayTtlMs + 1); }};
}

INSTANTIATE_TEST_SUITE_P(Adapters, RouteTableContract,
                         ::testing::Values(std::make_pair(std::string("sharded_memory"),
                                                          RouteTableFactory(ShardedMemoryTables))),
                         [](const auto& info) { return info.param.first; });

// A memory table whose Register waits until it is opened (one blocked call
// stands for a slow connection).
class GatedTable final : public testing::ForwardingRouteTable {
 public:
  explicit GatedTable(const Clock& clock) : ForwardingRouteTable(clock, 30'000) {}
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void AwaitCaller() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_; });
  }
  Status Register(const std::string& t, const std::string& u, const DeviceRoute& r) override {
    std::unique_lock lock(mu_);
    waiting_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return inner_.Register(t, u, r);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool waiting_ = false;
};

TEST(ShardedRouteTable, AUsersCallDoesNotWaitForAnotherUsersSlowCall) {
  ManualClock clock;
  auto first = std::make_shared<GatedTable>(clock);
  auto second = std::make_shared<GatedTable>(clock);
  second->Open();
  ShardedRouteTable table({first, second}, /*shared_backend=*/false);
  // Two users that land on different tables: the first one's on the gated one.
  std::string slow_user, fast_user;
  for (int i = 0; slow_user.empty() || fast_user.empty(); ++i) {
    ASSERT_LT(i, 1000) << "every user landed on one table";
    std::string user = "u" + std::to_string(i);
    std::vector<DeviceRoute> probe;
    // Which table holds the user shows in where its route lands.
    ASSERT_TRUE(second->Register("t", user, {"probe", 1, "d", "p"}).ok());
    ASSERT_TRUE(table.Lookup("t", user, probe).ok());
    ASSERT_TRUE(second->Unregister("t", user, 1).ok());
    (probe.empty() ? slow_user : fast_user) = user;
  }
  auto slow = std::async(std::launch::async, [&] {
    return table.Register("t", slow_user, {"gw", 1, "phone", "ios"});
  });
  first->AwaitCaller();
  // The first table is still blocked: this call must not queue behind it.
  ASSERT_TRUE(table.Register("t", fast_user, {"gw", 2, "phone", "ios"}).ok());
  std::vector<DeviceRoute> routes;
  ASSERT_TRUE(table.Lookup("t", fast_user, routes).ok());
  EXPECT_EQ(routes.size(), 1u);
  first->Open();
  ASSERT_EQ(slow.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_TRUE(slow.get().ok());
  routes.clear();
  ASSERT_TRUE(table.Lookup("t", slow_user, routes).ok());
  EXPECT_EQ(routes.size(), 1u);
}

TEST(ShardedRouteTable, ALookupOfManyUsersKeepsTheirIndexesAcrossTables) {
  ManualClock clock;
  std::vector<std::shared_ptr<RouteTable>> tables;
  for (int i = 0; i < 4; ++i) tables.push_back(std::make_shared<MemoryRouteTable>(clock, 30'000));
  ShardedRouteTable table(tables, /*shared_backend=*/false);
  std::vector<std::string> users;
  for (int i = 0; i < 40; ++i) {
    users.push_back("user" + std::to_string(i));
    if (i % 3 == 0) {
      ASSERT_TRUE(table.Register("t", users.back(), {"gw", uint64_t(i) + 1, "d", "p"}).ok());
    }
  }
  std::vector<UserRoute> found;
  ASSERT_TRUE(table.LookupMany("t", users, found).ok());
  ASSERT_EQ(found.size(), 14u);
  for (const UserRoute& r : found) {
    EXPECT_EQ(r.user_index % 3, 0u);
    EXPECT_EQ(r.route.session_id, r.user_index + 1);
  }
}

// A table whose heartbeat answers what it is told.
class AnsweringTable final : public testing::ForwardingRouteTable {
 public:
  AnsweringTable(const Clock& clock, Result<GatewayLiveness> answer)
      : ForwardingRouteTable(clock, 30'000), answer_(std::move(answer)) {}
  Result<GatewayLiveness> Heartbeat(const std::string&) override {
    ++beats;
    return answer_;
  }
  int beats = 0;

 private:
  const Result<GatewayLiveness> answer_;
};

// One table lapsed (its Redis restarted empty) and the next one failed: the
// lapse is what the gateway must hear, or its routes there stay lost.
TEST(ShardedRouteTable, ALapseOfOneTableIsReportedEvenIfAnotherFailed) {
  ManualClock clock;
  auto failed = std::make_shared<AnsweringTable>(clock, Unavailable("down"));
  auto lapsed = std::make_shared<AnsweringTable>(clock, GatewayLiveness::kLapsed);
  auto alive = std::make_shared<AnsweringTable>(clock, GatewayLiveness::kAlive);
  ShardedRouteTable table({failed, lapsed, alive}, false);
  auto beat = table.Heartbeat("gw1");
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_EQ(*beat, GatewayLiveness::kLapsed);
  EXPECT_EQ(failed->beats + lapsed->beats + alive->beats, 3);  // every table kept alive
  ShardedRouteTable without_lapse({alive, failed}, false);
  EXPECT_FALSE(without_lapse.Heartbeat("gw1").ok());
}

}  // namespace
}  // namespace flare
