// PreSendIngest: sends wait for their own pre-send hooks concurrently, keep
// one sender's order in a conversation, and refusals reach the sender.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/memory/memory_hook_dead_letters.h"
#include "adapters/webhook/webhook_transport.h"
#include "services/hooks/pre_send_ingest.h"
#include "support/hook_receiver.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using testing::HookReceiver;
using testing::ReceivedCall;
using testing::ReceiverReply;

const std::string kSecret = "hook-secret-0123456789abcdef";

// What reached the next stage (the writer's queue in the server), and the
// outcomes answered to senders.
class Recorder final : public MessageIngest, public CommandReplies {
 public:
  Status Submit(Command command) override {
    std::lock_guard lock(mu_);
    if (auto* op = std::get_if<MessageOpCommand>(&command.body)) {
      texts_.push_back("op:" + op->request.edit().content().text());
    } else {
      texts_.push_back(std::get<SendCommand>(command.body).message.content().text());
    }
    cv_.notify_all();
    return Status::Ok();
  }
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    std::lock_guard lock(mu_);
    refusals_.push_back({to.request_id, outcome});
    cv_.notify_all();
  }
  bool WaitFor(size_t submitted, size_t refused) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10),
                        [&] { return texts_.size() >= submitted && refusals_.size() >= refused; });
  }
  std::vector<std::string> texts() {
    std::lock_guard lock(mu_);
    return texts_;
  }
  std::vector<std::pair<std::string, CommandOutcome>> refusals() {
    std::lock_guard lock(mu_);
    return refusals_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> texts_;
  std::vector<std::pair<std::string, CommandOutcome>> refusals_;
};

Command SendCmd(const std::string& sender, const std::string& conversation,
                const std::string& text) {
  Command c;
  c.tenant = "acme";
  c.actor = sender;
  c.reply = {"gw", 7, "req-" + text};
  SendCommand send;
  send.message.set_conversation_id(conversation);
  send.message.set_conversation_type(pb::CONVERSATION_TYPE_SINGLE);
  send.message.set_type(pb::MESSAGE_TYPE_TEXT);
  send.message.set_sender(sender);
  send.message.mutable_content()->set_text(text);
  c.body = std::move(send);
  return c;
}

Command EditCmd(const std::string& sender, const std::string& conversation,
                const std::string& text) {
  Command c;
  c.tenant = "acme";
  c.actor = sender;
  c.reply = {"gw", 7, "req-" + text};
  MessageOpCommand op;
  op.request.set_conversation_id(conversation);
  op.request.set_target_seq(1);
  op.request.mutable_edit()->mutable_content()->set_text(text);
  c.body = std::move(op);
  return c;
}

class PreSendIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HookConfig h;
    h.name = "policy";
    h.point = "pre_send";
    h.url = receiver_.url();
    h.secret = kSecret;
    h.timeout_ms = 5'000;
    ASSERT_TRUE(engine_.Configure({h}).ok());
  }
  void TearDown() override { transport_->Close(); }

  HookReceiver receiver_{kSecret};
  std::unique_ptr<HookTransport> transport_ = MakeWebhookTransport();
  MemoryHookDeadLetters dead_letters_;
  ManualClock clock_;
  HookEngine engine_{*transport_, dead_letters_, clock_, nullptr};
  Recorder next_;
  PreSendIngest ingest_{engine_, next_, next_};
};

std::string TextOf(const ReceivedCall& call) {
  return nlohmann::json::parse(call.body)["message"]["content"]["text"];
}

TEST_F(PreSendIngestTest, ASendersMessagesKeepTheirOrderWhenAnEarlierHookIsSlower) {
  // "first"'s hook answers after "second"'s and "third"'s.
  receiver_.SetHandler([](const ReceivedCall& call) {
    return ReceiverReply{200, "", TextOf(call) == "first" ? 300 : 0};
  });
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "first")).ok());
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "second")).ok());
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "third")).ok());
  ASSERT_TRUE(next_.WaitFor(3, 0));
  EXPECT_EQ(next_.texts(), (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(PreSendIngestTest, OtherConversationsDoNotWaitForASlowHook) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    return ReceiverReply{200, "", TextOf(call) == "slow" ? 2'000 : 0};
  });
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "slow")).ok());
  ASSERT_TRUE(receiver_.WaitForCalls(1));
  ASSERT_TRUE(ingest_.Submit(SendCmd("carol", "s:bob:carol", "fast")).ok());
  ASSERT_TRUE(next_.WaitFor(1, 0));
  EXPECT_EQ(next_.texts(), (std::vector<std::string>{"fast"}));  // while "slow" still waits
  ASSERT_TRUE(next_.WaitFor(2, 0));
}

TEST_F(PreSendIngestTest, ARefusalIsAnsweredToTheSenderAndNotHandedOn) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    if (TextOf(call) == "bad") {
      return ReceiverReply{200, R"({"action":"reject","code":7,"reason":"not allowed"})"};
    }
    return ReceiverReply{200, R"({"content":{"text":"rewritten"}})"};
  });
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "bad")).ok());
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "good")).ok());
  ASSERT_TRUE(next_.WaitFor(1, 1));
  EXPECT_EQ(next_.texts(), (std::vector<std::string>{"rewritten"}));
  auto refusals = next_.refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].first, "req-bad");
  EXPECT_EQ(refusals[0].second.kind, CommandKind::kSend);
  EXPECT_EQ(refusals[0].second.status.detail(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(refusals[0].second.status.message(), "not allowed");
  EXPECT_EQ(refusals[0].second.hook_code, 7);
}

TEST_F(PreSendIngestTest, AnOperationWaitsBehindItsSendersSlowerSend) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    return ReceiverReply{200, "", TextOf(call) == "first" ? 300 : 0};
  });
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "first")).ok());
  // No pre_message_op hook selects the edit; it still may not overtake.
  ASSERT_TRUE(ingest_.Submit(EditCmd("alice", "s:alice:bob", "edited")).ok());
  ASSERT_TRUE(next_.WaitFor(2, 0));
  EXPECT_EQ(next_.texts(), (std::vector<std::string>{"first", "op:edited"}));
}

TEST_F(PreSendIngestTest, APreMessageOpRejectionIsTheOperationsRefusal) {
  HookConfig h;
  h.name = "ops";
  h.point = "pre_message_op";
  h.url = receiver_.url();
  h.secret = kSecret;
  ASSERT_TRUE(engine_.Configure({h}).ok());
  receiver_.SetHandler([](const ReceivedCall& call) {
    auto body = nlohmann::json::parse(call.body);
    bool edit =
        body["action"] == "edit" && body["message"]["event"]["edit"]["content"]["text"] == "rude";
    return ReceiverReply{200, edit ? R"({"action":"reject","code":9})" : ""};
  });
  ASSERT_TRUE(ingest_.Submit(EditCmd("alice", "s:alice:bob", "rude")).ok());
  ASSERT_TRUE(ingest_.Submit(EditCmd("alice", "s:alice:bob", "kind")).ok());
  ASSERT_TRUE(ingest_.Submit(SendCmd("alice", "s:alice:bob", "a send")).ok());  // no pre_send hook
  ASSERT_TRUE(next_.WaitFor(2, 1));
  EXPECT_EQ(next_.texts(), (std::vector<std::string>{"op:kind", "a send"}));
  auto refusals = next_.refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].first, "req-rude");
  EXPECT_EQ(refusals[0].second.kind, CommandKind::kMessageOp);
  EXPECT_EQ(refusals[0].second.hook_code, 9);
  EXPECT_EQ(refusals[0].second.status.detail(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(receiver_.CallCount(), 2u);  // the send was not shown to an operation's hook
}

}  // namespace
}  // namespace flare
