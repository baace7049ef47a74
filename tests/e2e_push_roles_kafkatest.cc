// push-proxy and push-worker as two real role processes on a Kafka mock
// cluster (run by this test process) and one SQLite data dir: a business
// server registers a device and pushes through push.v1.PushService; the
// task crosses the bus to push-worker, whose webhook provider reaches a
// real receiver the test runs; push-proxy's statistics come from the
// worker over push.v1.PushWorkerService; a provider's 410 disables the
// token so the next push skips that device.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/rpc_server.h"
#include "support/child_process.h"
#include "support/hook_receiver.h"
#include "support/kafka_mock_cluster.h"

namespace flare {
namespace {

namespace pv = ::push::v1;
using namespace std::chrono_literals;

constexpr char kSecret[] = "push-webhook-secret-0123456789";

class E2ePushRoles : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kafka_.ok());
    ASSERT_TRUE(kafka_.CreateServeTopics(2).ok());
    char tmpl[] = "/tmp/flare-push-roles-XXXXXX";
    dir_ = mkdtemp(tmpl);
    receiver_.SetHandler([](const testing::ReceivedCall& call) {
      testing::ReceiverReply reply;
      if (call.body.find("\"tok-gone\"") != std::string::npos) reply.status = 410;
      return reply;
    });
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes a config for `roles` and starts it; returns its gRPC port.
  int StartRole(testing::ChildProcess& child, const std::string& roles, const std::string& extra) {
    std::string path = dir_ + "/" + roles + ".toml";
    std::ofstream(path) << "[server]\ndata_dir = \"" << dir_
                        << "\"\nbind_address = \"127.0.0.1\"\nhttp_port = 0\nroles = \"" << roles
                        << "\"\n[storage]\nbackend = \"sqlite\"\n[rpc]\nport = 0\n"
                        << "[bus]\nbackend = \"kafka\"\nkafka.brokers = \"" << kafka_.bootstraps()
                        << "\"\n[log]\nlevel = \"warn\"\n"
                        << extra;
    EXPECT_TRUE(child.Start({FLARE_BINARY, "serve", "--config", path}));
    auto line = child.ReadLine(60s);
    EXPECT_TRUE(line.has_value()) << "no listening line from " << roles;
    if (!line) return 0;
    char listed[128] = {0};
    int rpc_port = 0, http_port = 0;
    EXPECT_EQ(std::sscanf(line->c_str(), "flare listening roles=%127s rpc_port=%d http_port=%d",
                          listed, &rpc_port, &http_port),
              3)
        << *line;
    return rpc_port;
  }

  std::unique_ptr<grpc::ClientContext> AsTenant() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-tenant-id", "acme");
    context->AddMetadata("x-user-id", "backend");
    context->set_deadline(std::chrono::system_clock::now() + 20s);
    return context;
  }

  void Register(pv::PushService::Stub& stub, const std::string& device, const std::string& token) {
    pv::RegisterDeviceRequest r;
    r.set_user_id("alice");
    r.set_device_id(device);
    r.set_platform("webhook");
    r.set_token(token);
    pv::RegisterDeviceResponse response;
    grpc::Status st = stub.RegisterDevice(AsTenant().get(), r, &response);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  pv::PushResponse PushToAlice(pv::PushService::Stub& stub, const std::string& title) {
    pv::PushRequest r;
    r.add_user_ids("alice");
    r.set_title(title);
    pv::PushResponse response;
    grpc::Status st = stub.Push(AsTenant().get(), r, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return response;
  }

  // push-proxy's Stats until they reach `sent` and `disabled` (or 20 s passed).
  pv::PushStats StatsOnceCounted(pv::PushService::Stub& stub, int64_t sent, int64_t disabled) {
    pv::PushStats stats;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      grpc::Status st = stub.Stats(AsTenant().get(), pv::StatsRequest(), &stats);
      if (st.ok() && stats.sent() >= sent && stats.tokens_disabled() >= disabled) break;
      std::this_thread::sleep_for(50ms);  // polling interval of a remote figure
    }
    return stats;
  }

  testing::KafkaMockCluster kafka_{1};
  testing::HookReceiver receiver_{kSecret};
  std::string dir_;
};

TEST_F(E2ePushRoles, APushCrossesTheBusToTheWorkerAndItsProvider) {
  testing::ChildProcess worker, proxy;
  int worker_port =
      StartRole(worker, "push-worker",
                "[push.providers.webhook]\nurl = \"" + receiver_.url("/push") + "\"\nsecret = \"" +
                    kSecret + "\"\n[push.worker]\ninitial_backoff_ms = 50\n");
  ASSERT_GT(worker_port, 0);
  int proxy_port = StartRole(proxy, "push-proxy",
                             "[discovery]\nstatic.services = { push-worker = [\"127.0.0.1:" +
                                 std::to_string(worker_port) + "\"] }\n");
  ASSERT_GT(proxy_port, 0);
  auto stub = pv::PushService::NewStub(OpenRpcChannel("127.0.0.1:" + std::to_string(proxy_port)));

  Register(*stub, "phone", "tok-1");
  pv::PushResponse pushed = PushToAlice(*stub, "Hello from the backend");
  EXPECT_EQ(pushed.tasks(), 1);
  ASSERT_TRUE(receiver_.WaitForCalls(1, 30'000));
  auto call = receiver_.Calls()[0];
  EXPECT_TRUE(call.signature_ok) << call.signature_error;
  EXPECT_NE(call.body.find("Hello from the backend"), std::string::npos) << call.body;
  EXPECT_NE(call.body.find("tok-1"), std::string::npos) << call.body;
  EXPECT_EQ(StatsOnceCounted(*stub, 1, 0).sent(), 1);

  // A token the provider calls gone is disabled; the next push skips it.
  Register(*stub, "tablet", "tok-gone");
  EXPECT_EQ(PushToAlice(*stub, "second").tasks(), 2);
  ASSERT_TRUE(receiver_.WaitForCalls(3, 30'000));
  pv::PushStats stats = StatsOnceCounted(*stub, 2, 1);
  EXPECT_EQ(stats.sent(), 2);
  EXPECT_EQ(stats.tokens_disabled(), 1);
  EXPECT_EQ(PushToAlice(*stub, "third").tasks(), 1);

  ASSERT_TRUE(proxy.Signal(SIGTERM));
  EXPECT_EQ(proxy.Wait(30s), std::optional<int>(0));
  ASSERT_TRUE(worker.Signal(SIGTERM));
  EXPECT_EQ(worker.Wait(30s), std::optional<int>(0));
}

}  // namespace
}  // namespace flare
