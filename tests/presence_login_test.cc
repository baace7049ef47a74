// The login step of signaling-online: registering a login and finding the
// sessions it displaces must be one step, or concurrent logins that each
// should displace the others all survive.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <set>
#include <thread>

#include "adapters/memory/memory_route_table.h"
#include "services/signaling/online/presence.h"

namespace flare {
namespace {

// A memory route table whose Lookup holds every caller until `parties` of
// them are inside it (or a timeout passes): reading the routes and then
// registering, as separate steps, then happens for all logins side by side.
class LookupBarrierRouteTable final : public RouteTable {
 public:
  explicit LookupBarrierRouteTable(int parties) : parties_(parties) {}

  Status Register(const std::string& tenant, const std::string& user,
                  const DeviceRoute& route) override {
    return inner_.Register(tenant, user, route);
  }
  Status RegisterDisplacing(const std::string& tenant, const std::string& user,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<DeviceRoute>& displaced) override {
    return inner_.RegisterDisplacing(tenant, user, route, policy, displaced);
  }
  Status Unregister(const std::string& tenant, const std::string& user,
                    uint64_t session_id) override {
    return inner_.Unregister(tenant, user, session_id);
  }
  Status Lookup(const std::string& tenant, const std::string& user,
                std::vector<DeviceRoute>& out) override {
    {
      std::unique_lock lock(mu_);
      if (armed_) {
        ++arrived_;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::seconds(2), [&] { return arrived_ >= parties_; });
      }
    }
    return inner_.Lookup(tenant, user, out);
  }
  Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                    std::vector<UserRoute>& out) override {
    return inner_.LookupMany(tenant, users, out);
  }
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override {
    return inner_.Heartbeat(gateway_id);
  }
  void Disarm() {
    std::lock_guard lock(mu_);
    armed_ = false;
  }

 private:
  MemoryRouteTable inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  const int parties_;
  int arrived_ = 0;
  bool armed_ = true;
};

TEST(PresenceLogin, ConcurrentPlatformExclusiveLoginsLeaveExactlyOneSession) {
  constexpr int kLogins = 8;
  LookupBarrierRouteTable routes(kLogins);
  PresenceHub hub(routes);
  std::vector<std::vector<DeviceRoute>> displaced(kLogins);
  std::vector<std::thread> logins;
  for (int i = 0; i < kLogins; ++i) {
    logins.emplace_back([&, i] {
      DeviceRoute route{"gw", static_cast<uint64_t>(i + 1), "phone" + std::to_string(i), "ios"};
      displaced[i] = hub.Login("t", "bob", route, LoginConflict::kPlatformExclusive);
    });
  }
  for (auto& t : logins) t.join();
  routes.Disarm();

  std::vector<DeviceRoute> survivors;
  ASSERT_TRUE(routes.Lookup("t", "bob", survivors).ok());
  ASSERT_EQ(survivors.size(), 1u);
  // Every other login was displaced (and so kicked) exactly once; the
  // survivor never was.
  std::multiset<uint64_t> kicked;
  for (const auto& d : displaced) {
    for (const auto& r : d) {
      EXPECT_EQ(r.gateway_id, "gw");
      kicked.insert(r.session_id);
    }
  }
  EXPECT_EQ(kicked.size(), static_cast<size_t>(kLogins - 1));
  EXPECT_EQ(kicked.count(survivors[0].session_id), 0u);
  for (uint64_t id = 1; id <= kLogins; ++id) {
    if (id == survivors[0].session_id) continue;
    EXPECT_EQ(kicked.count(id), 1u) << "session " << id;
  }
}

TEST(PresenceLogin, CoexistDisplacesNobody) {
  MemoryRouteTable routes;
  PresenceHub hub(routes);
  EXPECT_TRUE(hub.Login("t", "bob", {"gw", 1, "a", "ios"}, LoginConflict::kCoexist).empty());
  EXPECT_TRUE(hub.Login("t", "bob", {"gw", 2, "b", "ios"}, LoginConflict::kCoexist).empty());
  std::vector<DeviceRoute> out;
  ASSERT_TRUE(routes.Lookup("t", "bob", out).ok());
  EXPECT_EQ(out.size(), 2u);
}

}  // namespace
}  // namespace flare
