// push.v1.PushService in embedded mode: an embedded server in this process
// with hook_admin.token set serves it on the admin port next to the hook
// admin API. A business server registers a device and pushes now and
// later; push-worker's webhook provider reaches a real receiver; the
// statistics count what was sent; calls without the token are refused.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "app/embedded_server.h"
#include "common/clock.h"
#include "common/ids.h"
#include "push/v1/push_service.grpc.pb.h"
#include "support/hook_receiver.h"
#include "support/server_process.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

const std::string kAdminToken = "admin-token-0123456789abcdef";
const std::string kPushSecret = "push-webhook-secret-0123456789";

class E2ePushApi : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() / ("flare-push-api-" + NewClientMsgId());
    Config config = testing::InProcessConfig(data_dir_.string());
    config.hook_admin_token = kAdminToken;
    config.hook_admin_port = 0;
    config.push_proxy_schedule_interval_ms = 20;
    config.push_providers.by_tenant["*"]["webhook"] = {{"url", receiver_.url("/push")},
                                                       {"secret", kPushSecret}};
    auto server = EmbeddedServer::Create(config);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
    stub_ = pv::PushService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->hook_admin_port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  static std::unique_ptr<grpc::ClientContext> Admin(const std::string& token = kAdminToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->AddMetadata("x-tenant-id", "acme");
    context->AddMetadata("x-user-id", "backend");
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  testing::HookReceiver receiver_{kPushSecret};
  std::filesystem::path data_dir_;
  std::unique_ptr<EmbeddedServer> server_;
  std::unique_ptr<pv::PushService::Stub> stub_;
};

TEST_F(E2ePushApi, APushAndAScheduledPushReachTheProviderAndAreCounted) {
  pv::RegisterDeviceRequest device;
  device.set_user_id("alice");
  device.set_device_id("phone");
  device.set_platform("webhook");
  device.set_token("tok-alice");
  pv::RegisterDeviceResponse registered;
  ASSERT_TRUE(stub_->RegisterDevice(Admin().get(), device, &registered).ok());

  pv::PushRequest now;
  now.add_user_ids("alice");
  now.set_title("now");
  pv::PushResponse response;
  grpc::Status st = stub_->Push(Admin().get(), now, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.tasks(), 1);
  ASSERT_TRUE(receiver_.WaitForCalls(1));

  pv::PushRequest later = now;
  later.set_title("later");
  later.set_send_at_ms(SystemClock::Instance().NowMs() + 300);
  ASSERT_TRUE(stub_->Push(Admin().get(), later, &response).ok());
  EXPECT_TRUE(response.scheduled());
  ASSERT_TRUE(receiver_.WaitForCalls(2));
  auto calls = receiver_.Calls();
  EXPECT_TRUE(calls[1].signature_ok) << calls[1].signature_error;
  EXPECT_NE(calls[1].body.find("\"later\""), std::string::npos) << calls[1].body;

  pv::PushStats stats;
  for (int i = 0; i < 5000 && stats.sent() < 2; ++i) {  // the worker counts after the answer
    ASSERT_TRUE(stub_->Stats(Admin().get(), pv::StatsRequest(), &stats).ok());
  }
  EXPECT_EQ(stats.sent(), 2);
}

TEST_F(E2ePushApi, CallsWithoutTheAdminTokenAreRefused) {
  pv::PushResponse response;
  pv::PushRequest request;
  request.add_user_ids("alice");
  request.set_title("x");
  EXPECT_EQ(
      stub_->Push(Admin("wrong-token-0123456789abcdef").get(), request, &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(receiver_.CallCount(), 0u);
}

}  // namespace
}  // namespace flare
