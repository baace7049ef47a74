// The hook engine against a real local HTTP receiver (support/hook_receiver.h):
// signed webhook calls, pre-send verdicts, failure policies, the
// concurrency limit, post-send retries on a ManualClock and dead letters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/memory/memory_hook_dead_letters.h"
#include "adapters/webhook/webhook_signature.h"
#include "adapters/webhook/webhook_transport.h"
#include "services/hooks/hook_engine.h"
#include "support/hook_receiver.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using testing::HookReceiver;
using testing::ReceivedCall;
using testing::ReceiverReply;

const std::string kSecret = "hook-secret-0123456789abcdef";

HookConfig Hook(const std::string& name, const std::string& point, const std::string& url) {
  HookConfig h;
  h.name = name;
  h.point = point;
  h.url = url;
  h.secret = kSecret;
  h.timeout_ms = 2'000;
  return h;
}

Message TextMessage(const std::string& text) {
  Message m;
  m.set_client_msg_id("c1");
  m.set_server_msg_id("01HZZZZZZZZZZZZZZZZZZZZZZZ");
  m.set_conversation_id("s:alice:bob");
  m.set_conversation_type(pb::CONVERSATION_TYPE_SINGLE);
  m.set_type(pb::MESSAGE_TYPE_TEXT);
  m.set_sender("alice");
  m.mutable_content()->set_text(text);
  return m;
}

// Waits on a condition (with a deadline) for the verdict of one RunPreSend.
class VerdictBox {
 public:
  PreSendDone Sink() {
    return [this](PreSendVerdict v) {
      std::lock_guard lock(mu_);
      verdict_ = std::move(v);
      done_ = true;
      cv_.notify_all();
    };
  }
  PreSendVerdict Wait() {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return done_; }));
    return verdict_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  PreSendVerdict verdict_;
};

template <typename Predicate>
bool Eventually(Predicate p, int64_t timeout_ms = 10'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!p()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class HookEngineTest : public ::testing::Test {
 protected:
  HookReceiver receiver_{kSecret};
  std::unique_ptr<HookTransport> transport_ = MakeWebhookTransport();
  MemoryHookDeadLetters dead_letters_;
  ManualClock clock_;
  Metrics metrics_;
  HookEngine engine_{*transport_, dead_letters_, clock_, &metrics_};

  void TearDown() override {
    transport_->Close();
    engine_.Stop();
  }
};

TEST_F(HookEngineTest, CallsAreSignedAndTheReceiverRejectsReplaysAndTampering) {
  ASSERT_TRUE(engine_.Configure({Hook("audit", "pre_send", receiver_.url())}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("hi"), box.Sink());
  ASSERT_TRUE(box.Wait().status.ok());
  ASSERT_EQ(receiver_.CallCount(), 1u);
  ReceivedCall call = receiver_.Calls()[0];
  EXPECT_TRUE(call.signature_ok) << call.signature_error;
  auto body = nlohmann::json::parse(call.body);
  EXPECT_EQ(body["point"], "pre_send");
  EXPECT_EQ(body["hook"], "audit");
  EXPECT_EQ(body["tenant"], "acme");
  EXPECT_EQ(body["message"]["content"]["text"], "hi");
  EXPECT_EQ(body["message"]["conversation_id"], "s:alice:bob");

  std::map<std::string, std::string> headers = {
      {kWebhookTimestampHeader, call.headers["x-flare-timestamp"]},
      {kWebhookSignatureHeader, call.headers["x-flare-signature"]}};
  EXPECT_EQ(receiver_.Post(headers, call.body), 200);  // fresh: accepted
  receiver_.SetClockOffset(301);                       // the same call 5 min later: a replay
  EXPECT_EQ(receiver_.Post(headers, call.body), 401);
  receiver_.SetClockOffset(0);
  std::string tampered = call.body;
  tampered.replace(tampered.find("hi"), 2, "ho");
  EXPECT_EQ(receiver_.Post(headers, tampered), 401);
  headers[kWebhookSignatureHeader] =
      WebhookSignature("another-secret-0123456789", headers[kWebhookTimestampHeader], call.body);
  EXPECT_EQ(receiver_.Post(headers, call.body), 401);
}

TEST(WebhookSignature, VerifiesTheWindowBothWays) {
  std::string body = R"({"a":1})";
  std::string sig = WebhookSignature(kSecret, "1000", body);
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, "1000", sig, body, 1000, 300).ok());
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, "1000", sig, body, 1300, 300).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "1000", sig, body, 1301, 300).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "1000", sig, body, 699, 300).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "1001", sig, body, 1000, 300).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "", sig, body, 1000, 300).ok());
}

TEST_F(HookEngineTest, ARejectionCarriesTheHooksCodeAndReason) {
  receiver_.SetHandler([](const ReceivedCall&) {
    return ReceiverReply{200, R"({"action":"reject","code":4031,"reason":"no links, please"})"};
  });
  ASSERT_TRUE(engine_.Configure({Hook("policy", "pre_send", receiver_.url())}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("see http://x"), box.Sink());
  PreSendVerdict v = box.Wait();
  EXPECT_EQ(v.status.code(), Code::kPermissionDenied);
  EXPECT_EQ(v.status.detail(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(v.status.message(), "no links, please");
  EXPECT_EQ(v.hook_code, 4031);
  EXPECT_EQ(engine_.Stats("policy")->rejections.Value(), 1);
  EXPECT_EQ(engine_.Stats("policy")->calls.Value(), 1);
}

TEST_F(HookEngineTest, HooksRunInPriorityOrderAndEachSeesTheLastRewrite) {
  HookReceiver second(kSecret);
  receiver_.SetHandler([](const ReceivedCall&) {
    return ReceiverReply{200, R"({"action":"allow","content":{"text":"[clean] hi"}})"};
  });
  second.SetHandler([](const ReceivedCall&) {
    return ReceiverReply{200, R"({"attributes":{"checked":"yes"}})"};
  });
  HookConfig late = Hook("tagger", "pre_send", second.url());
  late.priority = 20;
  HookConfig early = Hook("cleaner", "pre_send", receiver_.url());
  early.priority = 10;
  ASSERT_TRUE(engine_.Configure({late, early}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("hi"), box.Sink());
  PreSendVerdict v = box.Wait();
  ASSERT_TRUE(v.status.ok()) << v.status.ToString();
  EXPECT_EQ(v.message.content().text(), "[clean] hi");
  EXPECT_EQ(v.message.attributes().at("checked"), "yes");
  ASSERT_EQ(second.CallCount(), 1u);
  auto body = nlohmann::json::parse(second.Calls()[0].body);
  EXPECT_EQ(body["message"]["content"]["text"], "[clean] hi");  // after the earlier hook
}

TEST_F(HookEngineTest, SelectorsPickHooksByTenantConversationAndMessageType) {
  HookConfig h = Hook("groups-only", "pre_send", receiver_.url());
  h.tenants = {"acme"};
  h.conversation_types = {"group"};
  h.message_types = {"text"};
  ASSERT_TRUE(engine_.Configure({h}).ok());
  Message single = TextMessage("x");
  Message group = TextMessage("x");
  group.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);
  Message image = group;
  image.set_type(pb::MESSAGE_TYPE_IMAGE);
  EXPECT_FALSE(engine_.SelectsPreSend("acme", single));
  EXPECT_TRUE(engine_.SelectsPreSend("acme", group));
  EXPECT_FALSE(engine_.SelectsPreSend("other", group));
  EXPECT_FALSE(engine_.SelectsPreSend("acme", image));
}

TEST_F(HookEngineTest, ATimedOutHookLetsTheSendThroughWhenFailOpen) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "", 3'000}; });
  HookConfig h = Hook("slow", "pre_send", receiver_.url());
  h.timeout_ms = 100;
  ASSERT_TRUE(engine_.Configure({h}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("hi"), box.Sink());
  PreSendVerdict v = box.Wait();
  EXPECT_TRUE(v.status.ok()) << v.status.ToString();
  EXPECT_EQ(v.message.content().text(), "hi");
  EXPECT_EQ(engine_.Stats("slow")->timeouts.Value(), 1);
  EXPECT_EQ(engine_.Stats("slow")->failures.Value(), 1);
}

TEST_F(HookEngineTest, ATimedOutHookRefusesTheSendWhenFailClosed) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "", 3'000}; });
  HookConfig h = Hook("slow", "pre_send", receiver_.url());
  h.timeout_ms = 100;
  h.failure_policy = "fail_closed";
  ASSERT_TRUE(engine_.Configure({h}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("hi"), box.Sink());
  PreSendVerdict v = box.Wait();
  EXPECT_EQ(v.status.code(), Code::kUnavailable);
  EXPECT_EQ(engine_.Stats("slow")->timeouts.Value(), 1);
}

TEST_F(HookEngineTest, ACallOverMaxConcurrencyFailsUnderTheFailurePolicy) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "", 500}; });
  HookConfig h = Hook("narrow", "pre_send", receiver_.url());
  h.max_concurrency = 1;
  h.failure_policy = "fail_closed";
  ASSERT_TRUE(engine_.Configure({h}).ok());
  VerdictBox first, second;
  engine_.RunPreSend("acme", TextMessage("1"), first.Sink());
  engine_.RunPreSend("acme", TextMessage("2"), second.Sink());  // while the first is in flight
  EXPECT_EQ(second.Wait().status.code(), Code::kUnavailable);
  EXPECT_TRUE(first.Wait().status.ok());
  EXPECT_EQ(engine_.Stats("narrow")->calls.Value(), 1);
  EXPECT_EQ(engine_.Stats("narrow")->failures.Value(), 1);
}

TEST_F(HookEngineTest, PostSendIsRetriedWithBackoffThenDeadLettered) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{503, "busy"}; });
  HookConfig h = Hook("crm", "post_send", receiver_.url());
  h.max_attempts = 3;
  h.backoff_ms = 1'000;
  ASSERT_TRUE(engine_.Configure({h}).ok());
  auto stats = engine_.Stats("crm");
  engine_.PostSend("acme", TextMessage("stored"));  // the engine's pump thread is not started
  engine_.Pump();
  ASSERT_EQ(stats->calls.Value(), 1);
  ASSERT_TRUE(Eventually([&] { return stats->failures.Value() == 1; }));
  ASSERT_TRUE(Eventually([&] { return engine_.QueuedDeliveries() == 1; }));

  clock_.Advance(999);  // the first retry is due after backoff_ms
  engine_.Pump();
  EXPECT_EQ(stats->calls.Value(), 1);
  clock_.Advance(1);
  engine_.Pump();
  EXPECT_EQ(stats->calls.Value(), 2);
  ASSERT_TRUE(Eventually([&] { return engine_.QueuedDeliveries() == 1; }));

  clock_.Advance(1'999);  // then twice that
  engine_.Pump();
  EXPECT_EQ(stats->calls.Value(), 2);
  clock_.Advance(1);
  engine_.Pump();
  EXPECT_EQ(stats->calls.Value(), 3);
  ASSERT_TRUE(Eventually([&] { return stats->dead_letters.Value() == 1; }));
  EXPECT_EQ(engine_.QueuedDeliveries(), 0u);

  auto letters = dead_letters_.Recent(10);
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].hook, "crm");
  EXPECT_EQ((*letters)[0].attempts, 3);
  EXPECT_EQ((*letters)[0].event_id, "01HZZZZZZZZZZZZZZZZZZZZZZZ:crm");
  EXPECT_NE((*letters)[0].last_error.find("503"), std::string::npos);
  EXPECT_NE((*letters)[0].payload.find("stored"), std::string::npos);
  // Every attempt carried the same event id, and its number.
  auto calls = receiver_.Calls();
  ASSERT_EQ(calls.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto body = nlohmann::json::parse(calls[i].body);
    EXPECT_EQ(body["event_id"], "01HZZZZZZZZZZZZZZZZZZZZZZZ:crm");
    EXPECT_EQ(body["attempt"], i + 1);
  }
}

TEST_F(HookEngineTest, StatisticsAreOnMetricsPerHook) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{500, ""}; });
  ASSERT_TRUE(engine_.Configure({Hook("audit", "pre_send", receiver_.url())}).ok());
  VerdictBox box;
  engine_.RunPreSend("acme", TextMessage("hi"), box.Sink());
  ASSERT_TRUE(box.Wait().status.ok());  // fail-open
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("flare_hook_calls_total{hook=\"audit\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("flare_hook_failures_total{hook=\"audit\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("flare_hook_timeouts_total{hook=\"audit\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("flare_hook_latency_seconds_count{hook=\"audit\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("flare_hook_latency_seconds_bucket{hook=\"audit\",le=\"+Inf\"} 1\n"),
            std::string::npos);
}

TEST_F(HookEngineTest, ABadConfigurationKeepsTheHooksThatWork) {
  ASSERT_TRUE(engine_.Configure({Hook("audit", "pre_send", receiver_.url())}).ok());
  HookConfig bad = Hook("bad", "pre_send", "ftp://nowhere");
  EXPECT_FALSE(engine_.Configure({bad}).ok());
  EXPECT_TRUE(engine_.SelectsPreSend("acme", TextMessage("x")));
}

TEST(HookEngineLimits, ARewritePastTheMessageSizeLimitIsAFailureOfTheHook) {
  HookReceiver receiver(kSecret);
  receiver.SetHandler([](const ReceivedCall&) {
    nlohmann::json answer = {{"content", {{"text", std::string(200, 'x')}}}};
    return ReceiverReply{200, answer.dump()};
  });
  auto transport = MakeWebhookTransport();
  MemoryHookDeadLetters dead_letters;
  ManualClock clock;
  HookEngine engine(*transport, dead_letters, clock, nullptr,
                    HookEngineOptions{.max_message_bytes = 100});
  HookConfig open = Hook("inflater", "pre_send", receiver.url());
  ASSERT_TRUE(engine.Configure({open}).ok());
  VerdictBox passed;
  engine.RunPreSend("acme", TextMessage("small"), passed.Sink());
  PreSendVerdict v = passed.Wait();
  ASSERT_TRUE(v.status.ok());                      // fail_open: goes on...
  EXPECT_EQ(v.message.content().text(), "small");  // ...without the oversized rewrite
  EXPECT_EQ(engine.Stats("inflater")->failures.Value(), 1);

  open.failure_policy = "fail_closed";
  ASSERT_TRUE(engine.Configure({open}).ok());
  VerdictBox refused;
  engine.RunPreSend("acme", TextMessage("small"), refused.Sink());
  EXPECT_EQ(refused.Wait().status.code(), Code::kUnavailable);
  transport->Close();
}

}  // namespace
}  // namespace flare
