// push.v1.PushService over real gRPC: a server on a free loopback port in
// this process serving a PushApi on in-memory stores; a business server's
// calls name their tenant in metadata.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "adapters/memory/memory_device_store.h"
#include "adapters/memory/memory_push_schedule_store.h"
#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/rpc_server.h"
#include "rpc/push/push_grpc.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

class CollectingSink final : public PushTaskSink {
 public:
  Status Publish(std::span<const pv::PushTask> published) override {
    std::lock_guard lock(mu_);
    tasks_.insert(tasks_.end(), published.begin(), published.end());
    return Status::Ok();
  }
  std::vector<pv::PushTask> tasks() {
    std::lock_guard lock(mu_);
    return tasks_;
  }

 private:
  std::mutex mu_;
  std::vector<pv::PushTask> tasks_;
};

class RpcPush : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = NewPushGrpcService(api_);
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    stub_ =
        pv::PushService::NewStub(OpenRpcChannel("127.0.0.1:" + std::to_string(server_->port())));
  }
  std::unique_ptr<grpc::ClientContext> As(const std::string& tenant) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-tenant-id", tenant);
    context->AddMetadata("x-user-id", "backend");
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  void RegisterDevice(const std::string& tenant, const std::string& user) {
    pv::RegisterDeviceRequest r;
    r.set_user_id(user);
    r.set_device_id("phone");
    r.set_platform("ios");
    r.set_token("tok-" + user);
    pv::RegisterDeviceResponse response;
    ASSERT_TRUE(stub_->RegisterDevice(As(tenant).get(), r, &response).ok());
  }

  ManualClock clock_;
  MemoryDeviceStore devices_;
  MemoryPushScheduleStore store_;
  CollectingSink sink_;
  PushApi api_{devices_, store_, sink_, clock_, nullptr};
  RpcServicePtr service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<pv::PushService::Stub> stub_;
};

TEST_F(RpcPush, APushReachesTheCallingTenantsDevicesOnly) {
  RegisterDevice("t1", "alice");
  RegisterDevice("t2", "alice");
  pv::PushRequest r;
  r.add_user_ids("alice");
  r.set_title("Hello");
  pv::PushResponse response;
  grpc::Status st = stub_->Push(As("t1").get(), r, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.tasks(), 1);
  auto tasks = sink_.tasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].tenant(), "t1");
  EXPECT_EQ(tasks[0].token(), "tok-alice");
}

TEST_F(RpcPush, ErrorsComeBackAsGrpcCodes) {
  pv::PushResponse response;
  EXPECT_EQ(stub_->Push(As("t1").get(), pv::PushRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  pv::CancelScheduledRequest cancel;
  cancel.set_push_id("01NOSUCHPUSH");
  pv::CancelScheduledResponse cancelled;
  EXPECT_EQ(stub_->CancelScheduled(As("t1").get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pv::PushStats stats;
  EXPECT_EQ(stub_->Stats(As("t1").get(), pv::StatsRequest(), &stats).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->Push(&anonymous, pv::PushRequest(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RpcPush, TemplatesAndScheduledPushesAreListedPerTenant) {
  pv::PushTemplate t;
  t.set_name("welcome");
  t.set_title("Hi {{name}}");
  pv::PutTemplateResponse put;
  ASSERT_TRUE(stub_->PutTemplate(As("t1").get(), t, &put).ok());
  pv::ListTemplatesResponse listed;
  ASSERT_TRUE(stub_->ListTemplates(As("t1").get(), pv::ListTemplatesRequest(), &listed).ok());
  ASSERT_EQ(listed.templates_size(), 1);
  EXPECT_EQ(listed.templates(0).title(), "Hi {{name}}");
  ASSERT_TRUE(stub_->ListTemplates(As("t2").get(), pv::ListTemplatesRequest(), &listed).ok());
  EXPECT_EQ(listed.templates_size(), 0);

  RegisterDevice("t1", "bob");
  pv::PushRequest r;
  r.add_user_ids("bob");
  r.set_template_name("welcome");
  (*r.mutable_variables())["name"] = "Bob";
  r.set_send_at_ms(clock_.NowMs() + 5'000);
  pv::PushResponse response;
  ASSERT_TRUE(stub_->Push(As("t1").get(), r, &response).ok());
  EXPECT_TRUE(response.scheduled());
  pv::ListScheduledResponse scheduled;
  ASSERT_TRUE(stub_->ListScheduled(As("t1").get(), pv::ListScheduledRequest(), &scheduled).ok());
  ASSERT_EQ(scheduled.pushes_size(), 1);
  EXPECT_EQ(scheduled.pushes(0).request().title(), "Hi Bob");
  clock_.Advance(5'000);
  ASSERT_EQ(api_.FireDue().value(), 1u);
  ASSERT_EQ(sink_.tasks().size(), 1u);
  EXPECT_EQ(sink_.tasks()[0].title(), "Hi Bob");
}

TEST(RpcPushWithToken, EveryCallMustCarryTheBearerToken) {
  ManualClock clock;
  MemoryDeviceStore devices;
  MemoryPushScheduleStore store;
  CollectingSink sink;
  PushApi api(devices, store, sink, clock, nullptr);
  auto service = NewPushGrpcService(api, "admin-token-0123456789");
  auto server = RpcServer::Start("127.0.0.1:0", {service.get()});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto stub =
      pv::PushService::NewStub(OpenRpcChannel("127.0.0.1:" + std::to_string((*server)->port())));
  auto context = [](const std::string& bearer) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("x-tenant-id", "t1");
    c->AddMetadata("x-user-id", "backend");
    if (!bearer.empty()) c->AddMetadata("authorization", "Bearer " + bearer);
    return c;
  };
  pv::ListTemplatesResponse listed;
  EXPECT_EQ(
      stub->ListTemplates(context("").get(), pv::ListTemplatesRequest(), &listed).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub->ListTemplates(context("admin-token-0123456788").get(), pv::ListTemplatesRequest(),
                                &listed)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(stub->ListTemplates(context("admin-token-0123456789").get(),
                                  pv::ListTemplatesRequest(), &listed)
                  .ok());
}

}  // namespace
}  // namespace flare
