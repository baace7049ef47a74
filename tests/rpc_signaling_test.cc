// signaling-online and signaling-route end to end: real gRPC servers on a
// free loopback port in this process serving a MemoryRouteTable, and the
// gRPC route-table client called through the RouteTable interface. The
// RouteTable contract runs against it; then retries (Login never, the
// idempotent calls yes) and what the server is told.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "adapters/memory/memory_route_table.h"
#include "common/clock.h"
#include "route_table_contract.h"
#include "rpc/common/call_metadata.h"
#include "rpc/common/rpc_server.h"
#include "rpc/signaling/signaling_grpc.h"
#include "signaling/online/v1/signaling.grpc.pb.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

// A memory route table behind both services, and the client of them.
struct GrpcBackedTable {
  ManualClock clock;
  MemoryRouteTable memory{clock, MemoryRouteTable::kDefaultGatewayTtlMs};
  RpcServicePtr online = NewSignalingGrpcService(memory);
  RpcServicePtr router = NewRouterGrpcService(memory);
  std::unique_ptr<RpcServer> server;  // declared after the services: stops first
  std::unique_ptr<RouteTable> client;
};

RouteTableUnderTest GrpcTable() {
  auto backed = std::make_shared<GrpcBackedTable>();
  auto server = RpcServer::Start("127.0.0.1:0", {backed->online.get(), backed->router.get()});
  if (!server.ok()) return {};
  backed->server = std::move(*server);
  std::string target = "127.0.0.1:" + std::to_string(backed->server->port());
  RpcOptions options;
  options.deadline_ms = 10'000;
  backed->client = NewRouteTableGrpcClient(OpenRpcChannel(target), OpenRpcChannel(target), options);
  std::shared_ptr<RouteTable> table(backed, backed->client.get());
  return {table, [backed] { backed->clock.Advance(MemoryRouteTable::kDefaultGatewayTtlMs + 1); }};
}

INSTANTIATE_TEST_SUITE_P(Grpc, RouteTableContract,
                         ::testing::Values(std::make_pair(std::string("grpc"),
                                                          RouteTableFactory(GrpcTable))),
                         [](const auto& info) { return info.param.first; });

// The table beneath the servers: fails the next `failures` calls with
// UNAVAILABLE, counts calls per method and keeps the last tenant and user
// it was called for.
class FlakyRouteTable final : public RouteTable {
 public:
  std::atomic<int> failures{0};
  std::atomic<int> logins{0}, logouts{0}, lookups{0}, heartbeats{0};
  std::atomic<int> batched_lookups{0};  // LookupMany (also counted in lookups)
  std::atomic<bool> lapse{false};       // the next good Heartbeat reports kLapsed

  Status Register(const std::string& tenant, const std::string& user,
                  const DeviceRoute& route) override {
    ++logins;
    FLARE_RETURN_IF_ERROR(Observe(tenant, user));
    return inner_.Register(tenant, user, route);
  }
  Status RegisterDisplacing(const std::string& tenant, const std::string& user,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<DeviceRoute>& displaced) override {
    ++logins;
    FLARE_RETURN_IF_ERROR(Observe(tenant, user));
    return inner_.RegisterDisplacing(tenant, user, route, policy, displaced);
  }
  Status Unregister(const std::string& tenant, const std::string& user,
                    uint64_t session_id) override {
    ++logouts;
    FLARE_RETURN_IF_ERROR(Observe(tenant, user));
    return inner_.Unregister(tenant, user, session_id);
  }
  Status Lookup(const std::string& tenant, const std::string& user,
                std::vector<DeviceRoute>& out) override {
    ++lookups;
    FLARE_RETURN_IF_ERROR(Observe(tenant, user));
    return inner_.Lookup(tenant, user, out);
  }
  Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                    std::vector<UserRoute>& out) override {
    ++lookups;
    ++batched_lookups;
    FLARE_RETURN_IF_ERROR(Observe(tenant, ""));
    return inner_.LookupMany(tenant, users, out);
  }
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override {
    ++heartbeats;
    FLARE_RETURN_IF_ERROR(Observe("", gateway_id));
    auto liveness = inner_.Heartbeat(gateway_id);
    if (liveness.ok() && lapse.exchange(false)) return GatewayLiveness::kLapsed;
    return liveness;
  }
  std::pair<std::string, std::string> last() {
    std::lock_guard lock(mu_);
    return last_;
  }
  MemoryRouteTable& inner() { return inner_; }

 private:
  Status Observe(const std::string& tenant, const std::string& user) {
    {
      std::lock_guard lock(mu_);
      last_ = {tenant, user};
    }
    if (failures.fetch_sub(1) > 0) return Unavailable("injected fault");
    return Status::Ok();
  }
  MemoryRouteTable inner_;
  std::mutex mu_;
  std::pair<std::string, std::string> last_;
};

class RpcSignaling : public ::testing::Test {
 protected:
  void SetUp() override {
    online_ = NewSignalingGrpcService(flaky_);
    router_ = NewRouterGrpcService(flaky_);
    auto server = RpcServer::Start("127.0.0.1:0", {online_.get(), router_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.deadline_ms = 5'000;
    options_.retry = RetryPolicy{3, 20, 1'000, 0};
    client_ = NewRouteTableGrpcClient(OpenRpcChannel(target()), OpenRpcChannel(target()), options_,
                                      RpcSeams{&clock_, &random_, &sleeper_});
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  FlakyRouteTable flaky_;
  RpcServicePtr online_;
  RpcServicePtr router_;
  std::unique_ptr<RpcServer> server_;
  RpcOptions options_;
  ManualClock clock_;
  testing::StepRandom random_;
  testing::ClockSleeper sleeper_{clock_};
  std::unique_ptr<RouteTable> client_;
};

// A gateway's login and logout each need the user's routes afterwards (for
// the presence announcement): one Login or Logout call answers both, where
// a separate lookup would be a second round trip to signaling-route.
TEST_F(RpcSignaling, ALoginAndALogoutListTheUsersRoutesInTheSameCall) {
  ASSERT_TRUE(flaky_.inner().Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  std::vector<DeviceRoute> displaced;
  std::optional<std::vector<DeviceRoute>> after;
  ASSERT_TRUE(client_
                  ->RegisterDisplacingAndList("t", "bob", {"gw2", 2, "laptop", "web"},
                                              LoginConflict::kCoexist, displaced, after)
                  .ok());
  EXPECT_TRUE(displaced.empty());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->size(), 2u);
  after.reset();
  ASSERT_TRUE(client_->UnregisterAndList("t", "bob", 1, after).ok());
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].gateway_id, "gw2");
  EXPECT_EQ(flaky_.logins.load(), 1);
  EXPECT_EQ(flaky_.logouts.load(), 1);
  EXPECT_EQ(flaky_.batched_lookups.load(), 0) << "the routes were looked up by another call";
}

TEST_F(RpcSignaling, ALoginIsNotRetriedAfterUnavailable) {
  flaky_.failures = 1;
  std::vector<DeviceRoute> displaced;
  Status st = client_->RegisterDisplacing("t", "bob", {"gw1", 1, "phone", "ios"},
                                          LoginConflict::kPlatformExclusive, displaced);
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_EQ(st.message(), "injected fault");
  EXPECT_EQ(flaky_.logins.load(), 1);
  EXPECT_TRUE(sleeper_.sleeps().empty());
  std::vector<DeviceRoute> routes;
  ASSERT_TRUE(flaky_.inner().Lookup("t", "bob", routes).ok());
  EXPECT_TRUE(routes.empty());
}

TEST_F(RpcSignaling, LookupsAndLogoutsAreRetriedAfterUnavailable) {
  ASSERT_TRUE(flaky_.inner().Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  flaky_.failures = 2;
  std::vector<DeviceRoute> routes;
  Status st = client_->Lookup("t", "bob", routes);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(flaky_.lookups.load(), 3);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].gateway_id, "gw1");
  EXPECT_EQ(sleeper_.sleeps().size(), 2u);

  flaky_.failures = 1;
  ASSERT_TRUE(client_->Unregister("t", "bob", 1).ok());
  EXPECT_EQ(flaky_.logouts.load(), 2);
  routes.clear();
  ASSERT_TRUE(flaky_.inner().Lookup("t", "bob", routes).ok());
  EXPECT_TRUE(routes.empty());
}

// A retried beat would find the liveness its lost first attempt set and
// hide a lapse: a failed beat is reported (GatewayHeartbeat registers the
// routes again after it), and a lapse travels back to the gateway.
TEST_F(RpcSignaling, AHeartbeatIsNotRetriedAndReportsALapse) {
  flaky_.failures = 1;
  auto failed = client_->Heartbeat("gw1");
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_EQ(flaky_.heartbeats.load(), 1);

  auto alive = client_->Heartbeat("gw1");
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  EXPECT_EQ(*alive, GatewayLiveness::kAlive);
  flaky_.lapse = true;
  auto lapsed = client_->Heartbeat("gw1");
  ASSERT_TRUE(lapsed.ok()) << lapsed.status().ToString();
  EXPECT_EQ(*lapsed, GatewayLiveness::kLapsed);
}

// Nobody listens any more: the login fails at once, the lookup only after
// its retries.
TEST_F(RpcSignaling, AgainstAStoppedServerALoginIsTriedOnceAndALookupRetried) {
  server_->Shutdown(0);
  std::vector<DeviceRoute> displaced;
  Status login = client_->RegisterDisplacing("t", "bob", {"gw1", 1, "phone", "ios"},
                                             LoginConflict::kExclusive, displaced);
  EXPECT_EQ(login.code(), Code::kUnavailable) << login.ToString();
  EXPECT_TRUE(sleeper_.sleeps().empty());
  std::vector<DeviceRoute> routes;
  Status lookup = client_->Lookup("t", "bob", routes);
  EXPECT_EQ(lookup.code(), Code::kUnavailable) << lookup.ToString();
  EXPECT_EQ(sleeper_.sleeps().size(), 2u);  // three attempts
  EXPECT_EQ(flaky_.logins.load() + flaky_.lookups.load(), 0);
}

TEST_F(RpcSignaling, TheTenantAndUserTravelAsMetadata) {
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(client_
                  ->RegisterDisplacing("acme", "bob", {"gw1", 1, "phone", "ios"},
                                       LoginConflict::kExclusive, displaced)
                  .ok());
  EXPECT_EQ(flaky_.last(), std::make_pair(std::string("acme"), std::string("bob")));
  std::vector<UserRoute> found;
  std::vector<std::string> users = {"carol", "bob"};
  ASSERT_TRUE(client_->LookupMany("acme", users, found).ok());
  EXPECT_EQ(flaky_.last().first, "acme");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].user_index, 1u);
  found.clear();
  ASSERT_TRUE(client_->LookupMany("other", users, found).ok());
  EXPECT_TRUE(found.empty());
  ASSERT_TRUE(client_->Heartbeat("gw7").ok());
  EXPECT_EQ(flaky_.last().second, "gw7");
}

// A policy value this build does not know is refused, not read as coexist.
TEST_F(RpcSignaling, AnUnknownLoginPolicyIsRefused) {
  auto stub = ::signaling::online::SignalingService::NewStub(OpenRpcChannel(target()));
  ::signaling::online::LoginRequest request;
  request.mutable_route()->set_gateway_id("gw1");
  request.mutable_route()->set_session_id(1);
  request.set_conflict(static_cast<::signaling::online::LoginConflict>(7));
  ::signaling::online::LoginResult response;
  grpc::ClientContext context;
  context.AddMetadata(rpc::kTenantKey, "t");
  context.AddMetadata(rpc::kUserKey, "bob");
  grpc::Status status = stub->Login(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(flaky_.logins.load(), 0);
}

TEST_F(RpcSignaling, ACallWithoutIdentityIsRefused) {
  auto stub = ::signaling::online::SignalingService::NewStub(OpenRpcChannel(target()));
  ::signaling::online::LogoutRequest request;
  request.set_session_id(1);
  ::signaling::online::LogoutResult response;
  grpc::ClientContext context;
  EXPECT_EQ(stub->Logout(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(flaky_.logouts.load(), 0);
}

}  // namespace
}  // namespace flare
