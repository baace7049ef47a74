// The gRPC hook transport against a real hooks.v1.HookExtensionService
// server the test starts (support/grpc_hook_receiver.h): signed calls,
// verdicts and rewrites, deadlines, one connection per target, Close, and
// the engine choosing the transport by the hook URL's scheme.
#include <gtest/gtest.h>

#include <grpcpp/support/status.h>

#include <future>

#include "adapters/grpc_hooks/grpc_hook_codec.h"
#include "adapters/grpc_hooks/grpc_hook_transport.h"
#include "adapters/memory/memory_hook_dead_letters.h"
#include "services/hooks/hook_engine.h"
#include "support/grpc_hook_receiver.h"
#include "support/hook_receiver.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using testing::GrpcHookReceiver;
using testing::GrpcReceivedCall;
using testing::GrpcReceiverReply;

const std::string kSecret = "grpc-hook-secret-0123456789";

HookTransport::Deadline In(int64_t ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

HookRequest Request(const std::string& text) {
  HookRequest r;
  r.point = "pre_send";
  r.hook = "mod";
  r.event_id = "c1";
  r.tenant = "acme";
  r.message.set_client_msg_id("c1");
  r.message.set_conversation_id("s:alice:bob");
  r.message.set_sender("alice");
  r.message.mutable_content()->set_text(text);
  (*r.message.mutable_attributes())["a"] = "1";
  (*r.message.mutable_attributes())["b"] = "2";
  return r;
}

// Calls once and waits (with a deadline) for the result.
HookCallResult CallAndWait(HookTransport& transport, const HookTarget& target, HookRequest request,
                           HookTransport::Deadline deadline) {
  std::promise<HookCallResult> result;
  transport.Call(target, std::move(request), deadline,
                 [&](HookCallResult r) { result.set_value(std::move(r)); });
  auto future = result.get_future();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return future.get();
}

class GrpcHookTransportTest : public ::testing::Test {
 protected:
  GrpcHookReceiver receiver_{kSecret};
  std::unique_ptr<HookTransport> transport_ = MakeGrpcHookTransport();
  HookTarget target_{"mod", receiver_.url(), kSecret};

  void TearDown() override { transport_->Close(); }
};

TEST_F(GrpcHookTransportTest, ASignedCallCarriesTheRequestAndBringsBackTheRewrite) {
  receiver_.SetHandler([](const GrpcReceivedCall&) {
    GrpcReceiverReply reply;
    reply.response.mutable_content()->set_text("clean");
    (*reply.response.mutable_attributes()->mutable_values())["moderated"] = "yes";
    return reply;
  });
  HookCallResult r = CallAndWait(*transport_, target_, Request("dirty"), In(5'000));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.response.verdict, HookResponse::Verdict::kAllow);
  ASSERT_TRUE(r.response.content.has_value());
  EXPECT_EQ(r.response.content->text(), "clean");
  ASSERT_TRUE(r.response.attributes.has_value());
  EXPECT_EQ(*r.response.attributes, (std::map<std::string, std::string>{{"moderated", "yes"}}));

  auto calls = receiver_.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].signature_ok) << calls[0].signature_error;
  const auto& got = calls[0].request;
  EXPECT_EQ(got.point(), "pre_send");
  EXPECT_EQ(got.hook(), "mod");
  EXPECT_EQ(got.event_id(), "c1");
  EXPECT_EQ(got.tenant(), "acme");
  EXPECT_EQ(got.attempt(), 1);
  EXPECT_EQ(got.message().content().text(), "dirty");
  EXPECT_EQ(got.message().attributes().at("b"), "2");
}

TEST_F(GrpcHookTransportTest, AnAnswerWithoutRewriteLeavesTheMessageAlone) {
  HookCallResult r = CallAndWait(*transport_, target_, Request("hi"), In(5'000));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.response.content.has_value());
  EXPECT_FALSE(r.response.attributes.has_value());
}

TEST_F(GrpcHookTransportTest, ARejectionCarriesCodeAndReason) {
  receiver_.SetHandler([](const GrpcReceivedCall&) {
    GrpcReceiverReply reply;
    reply.response.set_action(::hooks::v1::HookResponse::ACTION_REJECT);
    reply.response.set_code(4031);
    reply.response.set_reason("no links");
    return reply;
  });
  HookCallResult r = CallAndWait(*transport_, target_, Request("x"), In(5'000));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.response.verdict, HookResponse::Verdict::kReject);
  EXPECT_EQ(r.response.code, 4031);
  EXPECT_EQ(r.response.reason, "no links");
}

TEST_F(GrpcHookTransportTest, AWrongSecretIsRefusedByTheReceiver) {
  HookTarget wrong{"mod", receiver_.url(), "another-secret-0123456789"};
  HookCallResult r = CallAndWait(*transport_, wrong, Request("x"), In(5'000));
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.timed_out);
  ASSERT_EQ(receiver_.Calls().size(), 1u);
  EXPECT_FALSE(receiver_.Calls()[0].signature_ok);
}

TEST_F(GrpcHookTransportTest, TheHooksDeadlineEndsASlowCall) {
  receiver_.SetHandler([](const GrpcReceivedCall&) { return GrpcReceiverReply{0, {}, 10'000}; });
  auto started = std::chrono::steady_clock::now();
  HookCallResult r = CallAndWait(*transport_, target_, Request("x"), In(200));
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(GrpcHookTransportTest, AnErrorStatusIsAFailureNotATimeout) {
  receiver_.SetHandler([](const GrpcReceivedCall&) {
    return GrpcReceiverReply{static_cast<int>(grpc::StatusCode::INTERNAL), {}, 0};
  });
  HookCallResult r = CallAndWait(*transport_, target_, Request("x"), In(5'000));
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.status.message().find("mod"), std::string::npos) << r.status.message();
}

TEST_F(GrpcHookTransportTest, AnUnreachableHookFailsAtOnce) {
  HookTarget nowhere{"down", "grpc://127.0.0.1:1", kSecret};
  HookCallResult r = CallAndWait(*transport_, nowhere, Request("x"), In(5'000));
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.timed_out);
}

TEST_F(GrpcHookTransportTest, CallsToOneTargetShareOneConnection) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(CallAndWait(*transport_, target_, Request("x"), In(5'000)).status.ok());
  }
  auto calls = receiver_.Calls();
  ASSERT_EQ(calls.size(), 5u);
  for (const auto& call : calls) EXPECT_EQ(call.peer, calls[0].peer);
}

TEST_F(GrpcHookTransportTest, CloseFailsTheCallsInFlightBeforeItReturns) {
  receiver_.SetHandler([](const GrpcReceivedCall&) { return GrpcReceiverReply{0, {}, 10'000}; });
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < 3; ++i) {
    transport_->Call(target_, Request("x"), In(30'000), [&](HookCallResult r) {
      if (!r.status.ok()) failed.fetch_add(1);
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(receiver_.WaitForCalls(3));
  transport_->Close();
  EXPECT_EQ(done.load(), 3);
  EXPECT_EQ(failed.load(), 3);
  // Refused at once afterwards, still through the callback.
  HookCallResult late = CallAndWait(*transport_, target_, Request("x"), In(5'000));
  EXPECT_FALSE(late.status.ok());
}

TEST(GrpcHookSignature, TheSignatureCoversTheRequest) {
  auto request = ToProto(Request("x"));
  std::string signature = GrpcHookSignature(kSecret, "1000", request);
  EXPECT_TRUE(VerifyGrpcHookSignature(kSecret, "1000", signature, request, 1000).ok());
  auto tampered = request;
  tampered.mutable_message()->mutable_content()->set_text("y");
  EXPECT_FALSE(VerifyGrpcHookSignature(kSecret, "1000", signature, tampered, 1000).ok());
  EXPECT_FALSE(VerifyGrpcHookSignature(kSecret, "1000", signature, request, 2000).ok());
}

TEST(GrpcHookUrl, OnlyHostAndPortAreAccepted) {
  EXPECT_EQ(*GrpcHookAddress("grpc://10.0.0.5:7000"), "10.0.0.5:7000");
  EXPECT_EQ(*GrpcHookAddress("grpc://biz.example:443/"), "biz.example:443");
  EXPECT_FALSE(GrpcHookAddress("grpc://biz.example").ok());
  EXPECT_FALSE(GrpcHookAddress("grpc://biz.example:99999").ok());
  EXPECT_FALSE(GrpcHookAddress("grpc://biz.example:80/path").ok());
  EXPECT_FALSE(GrpcHookAddress("http://biz.example:80").ok());
  HookConfig hook;
  hook.name = "g";
  hook.point = "pre_send";
  hook.secret = kSecret;
  hook.url = "grpc://127.0.0.1:5000";
  EXPECT_TRUE(ValidateHook(hook).ok());
  hook.url = "grpc://nowhere";
  EXPECT_FALSE(ValidateHook(hook).ok());
}

// The engine, on the transport servers use: a gRPC hook and a webhook in
// one chain, each reached by its own transport.
TEST(HookTransportByScheme, TheEngineCallsGrpcAndHttpHooksInOneChain) {
  GrpcHookReceiver grpc_receiver(kSecret);
  testing::HookReceiver http_receiver(kSecret);
  grpc_receiver.SetHandler([](const GrpcReceivedCall& call) {
    GrpcReceiverReply reply;
    reply.response.mutable_content()->set_text(call.request.message().content().text() + "+grpc");
    return reply;
  });
  http_receiver.SetHandler([](const testing::ReceivedCall& call) {
    bool saw_grpc = call.body.find("hello+grpc") != std::string::npos;
    return testing::ReceiverReply{
        200, saw_grpc ? R"({"content":{"text":"hello+grpc+http"}})" : R"({"action":"reject"})", 0};
  });
  auto transport = MakeHookTransport();
  MemoryHookDeadLetters dead_letters;
  ManualClock clock;
  HookEngine engine(*transport, dead_letters, clock, nullptr);
  HookConfig first;
  first.name = "first";
  first.point = "pre_send";
  first.url = grpc_receiver.url();
  first.secret = kSecret;
  first.priority = 1;
  HookConfig second = first;
  second.name = "second";
  second.url = http_receiver.url();
  second.priority = 2;
  ASSERT_TRUE(engine.Configure({second, first}).ok());

  Message m;
  m.set_client_msg_id("c1");
  m.set_type(pb::MESSAGE_TYPE_TEXT);
  m.mutable_content()->set_text("hello");
  std::promise<PreSendVerdict> verdict;
  engine.RunPreSend("default", m, [&](PreSendVerdict v) { verdict.set_value(std::move(v)); });
  auto future = verdict.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PreSendVerdict v = future.get();
  ASSERT_TRUE(v.status.ok()) << v.status.ToString();
  EXPECT_EQ(v.message.content().text(), "hello+grpc+http");
  transport->Close();
  engine.Stop();
}

}  // namespace
}  // namespace flare
