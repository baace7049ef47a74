// The hook admin API (hooks.v1.HookAdminService) end to end: an embedded
// server in this process with hook_admin.token set, asked over real gRPC;
// hooks put and deleted through it apply to the next send of a real client,
// and (with a `flare serve` child process) outlive a restart.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/embedded_server.h"
#include "common/ids.h"
#include "hooks/v1/hooks.grpc.pb.h"
#include "services/signaling/online/token.h"
#include "support/frames.h"
#include "support/hook_receiver.h"
#include "support/server_process.h"

namespace flare {
namespace {

namespace hpb = ::hooks::v1;
using testing::HookReceiver;
using testing::ReceivedCall;
using testing::ReceiverReply;

const std::string kHookSecret = "e2e-hook-secret-0123456789";
const std::string kAdminToken = "admin-token-0123456789abcdef";

class E2eHookAdmin : public ::testing::Test {
 public:
  // A context with the admin token (or `token`) and a deadline.
  static std::unique_ptr<grpc::ClientContext> Admin(const std::string& token = kAdminToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() / ("flare-hook-admin-" + NewClientMsgId());
    Config config = testing::InProcessConfig(data_dir_.string());
    config.hook_admin_token = kAdminToken;
    config.hook_admin_port = 0;
    auto server = EmbeddedServer::Create(config);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->hook_admin_port(), 0);
    stub_ = hpb::HookAdminService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->hook_admin_port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  hpb::HookSpec Spec(const std::string& name, const std::string& point) const {
    hpb::HookSpec spec;
    spec.set_name(name);
    spec.set_point(point);
    spec.set_url(receiver_.url());
    spec.set_secret(kHookSecret);
    return spec;
  }

  grpc::Status Put(const hpb::HookSpec& spec, bool* replaced = nullptr) {
    hpb::PutHookRequest request;
    *request.mutable_hook() = spec;
    hpb::PutHookResponse response;
    grpc::Status status = stub_->PutHook(Admin().get(), request, &response);
    if (replaced != nullptr) *replaced = response.replaced();
    return status;
  }

  std::unique_ptr<FlareClient> Client(const std::string& user) {
    ClientOptions o;
    o.port = server_->ws_port();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    o.token =
        *TokenSigner(testing::kTestSecret).Issue({"default", user, "d1", "test", 0}, now, 3600);
    o.request_timeout_ms = 10'000;
    return std::make_unique<FlareClient>(o);
  }

  HookReceiver receiver_{kHookSecret};
  std::filesystem::path data_dir_;
  std::unique_ptr<EmbeddedServer> server_;
  std::unique_ptr<hpb::HookAdminService::Stub> stub_;
};

TEST_F(E2eHookAdmin, CallsWithoutTheTokenAreRefused) {
  hpb::ListHooksResponse response;
  grpc::ClientContext bare;
  bare.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(stub_->ListHooks(&bare, {}, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      stub_->ListHooks(Admin("wrong-token-0123456789abcdef").get(), {}, &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  hpb::PutHookRequest put;
  *put.mutable_hook() = Spec("sneaky", "pre_send");
  hpb::PutHookResponse put_response;
  grpc::ClientContext bare_put;
  EXPECT_EQ(stub_->PutHook(&bare_put, put, &put_response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(stub_->ListHooks(Admin().get(), {}, &response).ok());
  EXPECT_EQ(response.hooks_size(), 0);
}

TEST_F(E2eHookAdmin, APutHookAppliesToTheNextSendAndADeleteRemovesIt) {
  receiver_.SetHandler([](const ReceivedCall&) {
    return ReceiverReply{200, R"({"action":"reject","code":7,"reason":"closed for today"})"};
  });
  auto alice = Client("alice");
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(testing::SendTextFrame(*alice, "bob", "before").has_send_ack());

  bool replaced = true;
  hpb::HookSpec spec = Spec("gate", "pre_send");
  spec.set_timeout_ms(3'000);
  ASSERT_TRUE(Put(spec, &replaced).ok());
  EXPECT_FALSE(replaced);
  pb::ServerFrame refused = testing::SendTextFrame(*alice, "bob", "during");
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(refused.error().hook_code(), 7);

  hpb::ListHooksResponse list;
  ASSERT_TRUE(stub_->ListHooks(Admin().get(), {}, &list).ok());
  ASSERT_EQ(list.hooks_size(), 1);
  EXPECT_EQ(list.hooks(0).name(), "gate");
  EXPECT_EQ(list.hooks(0).timeout_ms(), 3'000);
  EXPECT_EQ(list.hooks(0).failure_policy(), "fail_open");  // the default, filled in
  EXPECT_EQ(list.hooks(0).secret(), "");                   // never read back

  spec.set_priority(5);
  ASSERT_TRUE(Put(spec, &replaced).ok());
  EXPECT_TRUE(replaced);

  hpb::DeleteHookRequest del;
  del.set_name("gate");
  hpb::DeleteHookResponse deleted;
  ASSERT_TRUE(stub_->DeleteHook(Admin().get(), del, &deleted).ok());
  EXPECT_TRUE(testing::SendTextFrame(*alice, "bob", "after").has_send_ack());
  EXPECT_EQ(receiver_.CallCount(), 1u);  // only the send made while the hook was in force
  EXPECT_EQ(stub_->DeleteHook(Admin().get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(E2eHookAdmin, AnInvalidHookIsRefusedNamingTheKeyAndChangesNothing) {
  ASSERT_TRUE(Put(Spec("good", "post_send")).ok());
  hpb::HookSpec bad = Spec("bad", "pre_send");
  bad.set_timeout_ms(0);
  grpc::Status status = Put(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("timeout_ms"), std::string::npos) << status.error_message();
  hpb::HookSpec no_point = Spec("bad", "pre_chat");
  EXPECT_EQ(Put(no_point).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  hpb::ListHooksResponse list;
  ASSERT_TRUE(stub_->ListHooks(Admin().get(), {}, &list).ok());
  ASSERT_EQ(list.hooks_size(), 1);
  EXPECT_EQ(list.hooks(0).name(), "good");
}

TEST_F(E2eHookAdmin, StatisticsAndDeadLettersAreReadBack) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    bool post = call.body.find("\"point\":\"post_send\"") != std::string::npos;
    return post ? ReceiverReply{500, ""} : ReceiverReply{200, R"({"action":"allow"})"};
  });
  ASSERT_TRUE(Put(Spec("check", "pre_send")).ok());
  hpb::HookSpec broken = Spec("broken", "post_send");
  broken.set_max_attempts(1);
  ASSERT_TRUE(Put(broken).ok());
  auto alice = Client("alice");
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(testing::SendTextFrame(*alice, "bob", "one").has_send_ack());
  ASSERT_TRUE(testing::SendTextFrame(*alice, "bob", "two").has_send_ack());

  hpb::ListDeadLettersResponse letters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (letters.letters_size() < 2 && std::chrono::steady_clock::now() < deadline) {
    letters.Clear();
    hpb::ListDeadLettersRequest request;
    ASSERT_TRUE(stub_->ListDeadLetters(Admin().get(), request, &letters).ok());
  }
  ASSERT_EQ(letters.letters_size(), 2);
  EXPECT_EQ(letters.letters(0).hook(), "broken");
  EXPECT_EQ(letters.letters(0).point(), "post_send");
  EXPECT_EQ(letters.letters(0).attempts(), 1);
  EXPECT_NE(letters.letters(0).last_error().find("500"), std::string::npos);
  // Delivered concurrently: the two letters may have failed in either order.
  std::string payloads = letters.letters(0).payload() + letters.letters(1).payload();
  EXPECT_NE(payloads.find("\"one\""), std::string::npos) << payloads;
  EXPECT_NE(payloads.find("\"two\""), std::string::npos) << payloads;

  hpb::GetHookStatsRequest request;
  request.add_names("check");
  hpb::GetHookStatsResponse stats;
  ASSERT_TRUE(stub_->GetHookStats(Admin().get(), request, &stats).ok());
  ASSERT_EQ(stats.hooks_size(), 1);
  const auto& check = stats.hooks(0);
  EXPECT_EQ(check.name(), "check");
  EXPECT_EQ(check.calls(), 2);
  EXPECT_EQ(check.failures(), 0);
  EXPECT_EQ(check.latency_count(), 2);
  ASSERT_GT(check.latency_size(), 1);
  EXPECT_TRUE(std::isinf(check.latency(check.latency_size() - 1).le_seconds()));
  EXPECT_EQ(check.latency(check.latency_size() - 1).count(), 2);  // cumulative

  // A dead letter is counted just after it is recorded: wait for the count.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    stats.Clear();
    ASSERT_TRUE(stub_->GetHookStats(Admin().get(), {}, &stats).ok());
    ASSERT_EQ(stats.hooks_size(), 2);
  } while (stats.hooks(0).dead_letters() < 2 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(stats.hooks(0).name(), "broken");
  EXPECT_EQ(stats.hooks(0).failures(), 2);
  EXPECT_EQ(stats.hooks(0).dead_letters(), 2);
}

// The admin API's changes are saved (<data_dir>/settings.db): a hook put
// through it is still in force after `flare serve` is killed and started
// again, and so is a delete.
TEST(E2eHookAdminRestart, AHookPutThroughTheAdminApiSurvivesARestart) {
  HookReceiver receiver(kHookSecret);
  receiver.SetHandler([](const ReceivedCall&) {
    return ReceiverReply{200, R"({"action":"reject","code":9,"reason":"kept across restarts"})"};
  });
  testing::ServerProcess server{{"FLARE_HOOK_ADMIN_TOKEN", kAdminToken},
                                {"FLARE_HOOK_ADMIN_PORT", "0"}};
  ASSERT_GT(server.hook_admin_port(), 0);
  auto stub = [&] {
    return hpb::HookAdminService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server.hook_admin_port()),
                            grpc::InsecureChannelCredentials()));
  };
  auto send = [&](const std::string& text) {
    FlareClient alice(server.Options("alice"));
    EXPECT_TRUE(alice.Connect().ok());
    return testing::SendTextFrame(alice, "bob", text);
  };

  hpb::PutHookRequest put;
  put.mutable_hook()->set_name("gate");
  put.mutable_hook()->set_point("pre_send");
  put.mutable_hook()->set_url(receiver.url());
  put.mutable_hook()->set_secret(kHookSecret);
  put.mutable_hook()->set_timeout_ms(4'321);
  hpb::PutHookResponse put_response;
  ASSERT_TRUE(stub()->PutHook(E2eHookAdmin::Admin().get(), put, &put_response).ok());

  server.Restart();
  ASSERT_GT(server.hook_admin_port(), 0);
  hpb::ListHooksResponse list;
  ASSERT_TRUE(stub()->ListHooks(E2eHookAdmin::Admin().get(), {}, &list).ok());
  ASSERT_EQ(list.hooks_size(), 1);
  EXPECT_EQ(list.hooks(0).name(), "gate");
  EXPECT_EQ(list.hooks(0).timeout_ms(), 4'321);
  // In force, with its secret: the receiver verified the signature.
  pb::ServerFrame refused = send("after the restart");
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(refused.error().hook_code(), 9);
  EXPECT_EQ(receiver.CallCount(), 1u);

  hpb::DeleteHookRequest del;
  del.set_name("gate");
  hpb::DeleteHookResponse deleted;
  ASSERT_TRUE(stub()->DeleteHook(E2eHookAdmin::Admin().get(), del, &deleted).ok());
  server.Restart();
  list.Clear();
  ASSERT_TRUE(stub()->ListHooks(E2eHookAdmin::Admin().get(), {}, &list).ok());
  EXPECT_EQ(list.hooks_size(), 0);
  EXPECT_TRUE(send("after the delete").has_send_ack());
  EXPECT_EQ(receiver.CallCount(), 1u);
}

}  // namespace
}  // namespace flare
