// push.v1.PushSchedulerService over real gRPC: two push-server instances
// in this process, each serving a recording DeviceActivitySink, found by a
// gateway's client through a static registry. Every login reaches every
// instance under its own tenant; an unacked-push report reaches one.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <tuple>

#include "adapters/static_registry/static_registry.h"
#include "push_test_support.h"
#include "rpc/common/rpc_server.h"
#include "rpc/push/push_scheduler_grpc.h"

namespace flare {
namespace {

using Login = std::tuple<std::string, std::string, std::string>;  // tenant, user, device

class RecordingHandoff final : public DeviceActivitySink {
 public:
  void OnDeviceOnline(const std::string& tenant, const std::string& user,
                      const std::string& device) override {
    std::lock_guard lock(mu_);
    logins_.insert({tenant, user, device});
  }
  void OnPushesUnacked(const std::string& tenant, const std::string& user,
                       const std::string& device, std::vector<MessageRef> messages) override {
    std::lock_guard lock(mu_);
    for (const auto& m : messages) {
      unacked_.push_back(tenant + "/" + user + "/" + device + " " + m.conversation_id + "@" +
                         std::to_string(m.seq));
    }
  }
  std::set<Login> logins() {
    std::lock_guard lock(mu_);
    return logins_;
  }
  std::vector<std::string> unacked() {
    std::lock_guard lock(mu_);
    return unacked_;
  }

 private:
  std::mutex mu_;
  std::set<Login> logins_;
  std::vector<std::string> unacked_;
};

struct PushServerInstance {
  RecordingHandoff handoff;
  RpcServicePtr service = NewPushSchedulerGrpcService([this] { return &handoff; });
  std::unique_ptr<RpcServer> server;
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(server->port()); }
};

TEST(RpcPushScheduler, LoginsReachEveryPushServerUnderTheirTenant) {
  PushServerInstance a, b;
  for (auto* instance : {&a, &b}) {
    auto server = RpcServer::Start("127.0.0.1:0", {instance->service.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    instance->server = std::move(server).value();
  }
  auto registry =
      StaticRegistry::Open(ServiceEndpoints{{"push-server", {a.endpoint(), b.endpoint()}}});
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  Metrics metrics;
  auto client = NewPushSchedulerClient(
      *registry, RpcOptions{}, PushSchedulerClientOptions{.flush_interval_ms = 5}, &metrics);
  client->OnDeviceOnline("acme", "alice", "phone");
  client->OnDeviceOnline("beta", "alice", "phone");
  client->OnDeviceOnline("acme", "bob", "tablet");
  std::set<Login> expected = {
      {"acme", "alice", "phone"}, {"beta", "alice", "phone"}, {"acme", "bob", "tablet"}};
  for (auto* instance : {&a, &b}) {
    EXPECT_TRUE(testing::Eventually([&] { return instance->handoff.logins() == expected; }))
        << instance->handoff.logins().size() << " logins at " << instance->endpoint();
  }
  EXPECT_NE(metrics.Render().find("flare_push_reports_dropped_total 0\n"), std::string::npos);

  // Unacked pushes go to one push-server only (a second would notify twice).
  client->OnPushesUnacked("acme", "bob", "tablet", {{"g:1", 4}, {"g:1", 5}});
  EXPECT_TRUE(testing::Eventually(
      [&] { return a.handoff.unacked().size() + b.handoff.unacked().size() == 2; }));
  auto& got = a.handoff.unacked().empty() ? b.handoff : a.handoff;
  EXPECT_EQ(got.unacked(),
            (std::vector<std::string>{"acme/bob/tablet g:1@4", "acme/bob/tablet g:1@5"}));
  client.reset();  // nothing more in flight
  EXPECT_EQ(a.handoff.unacked().size() + b.handoff.unacked().size(), 2u);
}

// Logins pending when the client goes are still sent; with no push-server
// in discovery they are counted, not silently lost.
TEST(RpcPushScheduler, PendingLoginsAreSentAtCloseAndCountedWhenNoneListens) {
  PushServerInstance a;
  auto server = RpcServer::Start("127.0.0.1:0", {a.service.get()});
  ASSERT_TRUE(server.ok());
  a.server = std::move(server).value();
  auto registry = StaticRegistry::Open(ServiceEndpoints{{"push-server", {a.endpoint()}}});
  ASSERT_TRUE(registry.ok());
  auto client = NewPushSchedulerClient(
      *registry, RpcOptions{}, PushSchedulerClientOptions{.flush_interval_ms = 60'000}, nullptr);
  client->OnDeviceOnline("acme", "alice", "phone");
  client.reset();
  EXPECT_EQ(a.handoff.logins(), (std::set<Login>{{"acme", "alice", "phone"}}));

  auto empty = StaticRegistry::Open(ServiceEndpoints{});
  ASSERT_TRUE(empty.ok());
  Metrics metrics;
  auto nowhere = NewPushSchedulerClient(
      *empty, RpcOptions{}, PushSchedulerClientOptions{.flush_interval_ms = 60'000}, &metrics);
  nowhere->OnDeviceOnline("acme", "alice", "phone");
  nowhere.reset();
  EXPECT_NE(metrics.Render().find("flare_push_reports_dropped_total 1\n"), std::string::npos)
      << metrics.Render();
}

// A push-server whose process runs no hand-off (yet) refuses reports, so
// the gateway counts them instead of believing them applied.
TEST(RpcPushScheduler, APushServerWithoutAHandOffRefusesAndTheReportIsCounted) {
  RpcServicePtr service = NewPushSchedulerGrpcService([] { return nullptr; });
  auto server = RpcServer::Start("127.0.0.1:0", {service.get()});
  ASSERT_TRUE(server.ok());
  auto registry = StaticRegistry::Open(
      ServiceEndpoints{{"push-server", {"127.0.0.1:" + std::to_string((*server)->port())}}});
  ASSERT_TRUE(registry.ok());
  Metrics metrics;
  auto client = NewPushSchedulerClient(
      *registry, RpcOptions{}, PushSchedulerClientOptions{.flush_interval_ms = 60'000}, &metrics);
  client->OnDeviceOnline("acme", "alice", "phone");
  client->OnPushesUnacked("acme", "alice", "phone", {{"g:1", 1}});
  client.reset();
  EXPECT_NE(metrics.Render().find("flare_push_reports_dropped_total 2\n"), std::string::npos)
      << metrics.Render();
}

}  // namespace
}  // namespace flare
