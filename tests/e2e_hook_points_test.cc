// The message-operation and conversation hook points end to end: an
// embedded server in this process with [[hooks]] pointing at a real HTTP
// receiver the test starts, and real clients over WebSocket.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/embedded_server.h"
#include "common/ids.h"
#include "services/signaling/online/token.h"
#include "support/frames.h"
#include "support/hook_receiver.h"
#include "support/server_process.h"

namespace flare {
namespace {

using nlohmann::json;
using testing::HookReceiver;
using testing::ReceivedCall;
using testing::ReceiverReply;

const std::string kHookSecret = "e2e-hook-secret-0123456789";

HookConfig Hook(const std::string& name, const std::string& point, const std::string& url) {
  HookConfig h;
  h.name = name;
  h.point = point;
  h.url = url;
  h.secret = kHookSecret;
  h.timeout_ms = 5'000;
  return h;
}

class E2eHookPoints : public ::testing::Test {
 protected:
  void StartServer(std::vector<HookConfig> hooks) {
    data_dir_ = std::filesystem::temp_directory_path() / ("flare-hook-points-" + NewClientMsgId());
    Config config = testing::InProcessConfig(data_dir_.string());
    config.hooks = std::move(hooks);
    auto server = EmbeddedServer::Create(config);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  std::unique_ptr<FlareClient> Connected(const std::string& user,
                                         const std::string& device = "d1") {
    ClientOptions o;
    o.port = server_->ws_port();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    o.token =
        *TokenSigner(testing::kTestSecret).Issue({"default", user, device, "test", 0}, now, 3600);
    o.request_timeout_ms = 10'000;
    auto client = std::make_unique<FlareClient>(o);
    EXPECT_TRUE(client->Connect().ok());
    return client;
  }

  // The calls of `point`, their JSON bodies in arrival order.
  std::vector<json> CallsOf(const std::string& point) const {
    std::vector<json> out;
    for (const auto& call : receiver_.Calls()) {
      EXPECT_TRUE(call.signature_ok) << call.signature_error;
      json body = json::parse(call.body);
      if (body["point"] == point) out.push_back(body);
    }
    return out;
  }
  // The same, in the order the events were stored: post-* deliveries run
  // concurrently, so they may arrive in any order.
  std::vector<json> CallsBySeq(const std::string& point) const {
    auto calls = CallsOf(point);
    std::sort(calls.begin(), calls.end(), [](const json& a, const json& b) {
      return std::stoll(a["message"]["seq"].get<std::string>()) <
             std::stoll(b["message"]["seq"].get<std::string>());
    });
    return calls;
  }
  // Waits (on the receiver's condition, with a deadline) for `n` calls of `point`.
  bool WaitForCallsOf(const std::string& point, size_t n) const {
    for (size_t total = receiver_.CallCount();; ++total) {
      if (CallsOf(point).size() >= n) return true;
      if (!receiver_.WaitForCalls(total + 1)) return CallsOf(point).size() >= n;
    }
  }

  HookReceiver receiver_{kHookSecret};
  std::filesystem::path data_dir_;
  std::unique_ptr<EmbeddedServer> server_;
};

TEST_F(E2eHookPoints, APreMessageOpHookRejectsARecallAndLetsAnEditThrough) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    json body = json::parse(call.body);
    if (body["action"] == "recall") {
      return ReceiverReply{200,
                           R"({"action":"reject","code":4090,"reason":"recall window closed"})"};
    }
    return ReceiverReply{200, R"({"content":{"text":"ignored: operations are not rewritten"}})"};
  });
  StartServer({Hook("ops", "pre_message_op", receiver_.url())});
  auto alice = Connected("alice");
  auto sent = alice->SendText("bob", "hello");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_TRUE(CallsOf("pre_message_op").empty());  // a send is not an operation

  auto recall = testing::Op(sent->conversation_id(), sent->seq());
  recall.set_client_msg_id(NewClientMsgId());
  recall.mutable_recall();
  pb::ClientFrame frame;
  *frame.mutable_message_op() = recall;
  auto refused = alice->Call(frame);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  ASSERT_TRUE(refused->has_error()) << refused->DebugString();
  EXPECT_EQ(refused->error().code(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(refused->error().hook_code(), 4090);
  EXPECT_EQ(refused->error().message(), "recall window closed");

  auto edit = testing::Op(sent->conversation_id(), sent->seq());
  edit.set_client_msg_id(NewClientMsgId());
  edit.mutable_edit()->mutable_content()->set_text("hello, edited");
  auto edited = alice->MessageOp(edit);
  ASSERT_TRUE(edited.ok()) << edited.status().ToString();

  auto calls = CallsOf("pre_message_op");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["action"], "recall");
  EXPECT_EQ(calls[0]["message"]["sender"], "alice");
  EXPECT_EQ(calls[0]["message"]["conversation_id"], sent->conversation_id());
  EXPECT_EQ(calls[0]["message"]["event"]["target_seq"], std::to_string(sent->seq()));
  EXPECT_EQ(calls[1]["action"], "edit");
  EXPECT_EQ(calls[1]["message"]["event"]["edit"]["content"]["text"], "hello, edited");

  // The stored message is the edit as sent (a rewrite of an operation is ignored), not recalled.
  auto sync = alice->Sync(sent->conversation_id(), 0, 10);
  ASSERT_TRUE(sync.ok());
  ASSERT_GE(sync->messages_size(), 1);
  EXPECT_EQ(sync->messages(0).content().text(), "hello, edited");
  EXPECT_NE(sync->messages(0).status(), pb::MESSAGE_STATUS_RECALLED);
}

TEST_F(E2eHookPoints, PostMessageOpHooksGetEachStoredOperation) {
  StartServer({Hook("audit", "post_message_op", receiver_.url())});
  auto alice = Connected("alice");
  auto sent = alice->SendText("bob", "hello");
  ASSERT_TRUE(sent.ok());
  auto react = testing::Op(sent->conversation_id(), sent->seq());
  react.set_client_msg_id(NewClientMsgId());
  react.mutable_reaction()->set_emoji("+1");
  react.mutable_reaction()->set_add(true);
  ASSERT_TRUE(alice->MessageOp(react).ok());
  auto recall = testing::Op(sent->conversation_id(), sent->seq());
  recall.set_client_msg_id(NewClientMsgId());
  recall.mutable_recall();
  auto recalled = alice->MessageOp(recall);
  ASSERT_TRUE(recalled.ok());

  ASSERT_TRUE(WaitForCallsOf("post_message_op", 2));
  auto calls = CallsBySeq("post_message_op");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["action"], "reaction");
  EXPECT_EQ(calls[0]["message"]["event"]["reaction"]["emoji"], "+1");
  EXPECT_EQ(calls[1]["action"], "recall");
  EXPECT_EQ(calls[1]["message"]["seq"], std::to_string(recalled->seq()));
  EXPECT_EQ(calls[1]["event_id"], recalled->server_msg_id() + ":audit");
  EXPECT_TRUE(CallsOf("post_send").empty());  // no post_send hook configured
}

TEST_F(E2eHookPoints, PostConversationHooksFollowAGroupFromCreationToDismissal) {
  StartServer({Hook("crm", "post_conversation", receiver_.url())});
  auto alice = Connected("alice");
  auto bob = Connected("bob");
  auto created = alice->Group(testing::CreateGroup({"bob"}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::string conv = created->info().conversation_id();
  ASSERT_TRUE(alice->Group(testing::Members(conv, {"carol", "dave"}, true)).ok());
  ASSERT_TRUE(alice->Group(testing::Members(conv, {"dave"}, false)).ok());
  pb::GroupRequest leave;
  leave.set_conversation_id(conv);
  leave.mutable_leave();
  ASSERT_TRUE(bob->Group(leave).ok());
  pb::GroupRequest dismiss;
  dismiss.set_conversation_id(conv);
  dismiss.mutable_dismiss();
  ASSERT_TRUE(alice->Group(dismiss).ok());

  ASSERT_TRUE(WaitForCallsOf("post_conversation", 5));
  auto calls = CallsBySeq("post_conversation");
  ASSERT_EQ(calls.size(), 5u);
  std::vector<std::string> actions;
  for (const auto& c : calls) actions.push_back(c["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"created", "member_joined", "member_removed",
                                               "member_left", "dismissed"}));
  for (const auto& c : calls) EXPECT_EQ(c["message"]["conversation_id"], conv);
  EXPECT_EQ(calls[1]["message"]["event"]["membership"]["user_ids"], json::array({"carol", "dave"}));
  EXPECT_EQ(calls[3]["message"]["event"]["membership"]["actor"], "bob");
}

TEST_F(E2eHookPoints, PostOnlineAndOfflineFollowAUsersFirstAndLastDevice) {
  StartServer({Hook("presence", "post_online", receiver_.url()),
               Hook("presence-off", "post_offline", receiver_.url())});
  auto alice = Connected("alice");
  ASSERT_TRUE(WaitForCallsOf("post_online", 1));
  auto second = Connected("alice", "d2");  // a second device: alice was online already
  second.reset();                          // and is still online after it leaves
  alice.reset();                           // her last device goes
  ASSERT_TRUE(WaitForCallsOf("post_offline", 1));

  auto online = CallsOf("post_online");
  auto offline = CallsOf("post_offline");
  ASSERT_EQ(online.size(), 1u);
  ASSERT_EQ(offline.size(), 1u);
  EXPECT_EQ(online[0]["user_id"], "alice");
  EXPECT_EQ(online[0]["tenant"], "default");
  EXPECT_EQ(online[0]["hook"], "presence");
  EXPECT_EQ(offline[0]["user_id"], "alice");
  EXPECT_EQ(offline[0]["hook"], "presence-off");
  EXPECT_NE(online[0]["event_id"], offline[0]["event_id"]);
}

TEST_F(E2eHookPoints, APreLoginHookRefusesALoginWithAClearAuthError) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    if (json::parse(call.body)["user_id"] == "mallory") {
      return ReceiverReply{200, R"({"action":"reject","code":4030,"reason":"account suspended"})"};
    }
    return ReceiverReply{};
  });
  StartServer({Hook("gate", "pre_login", receiver_.url())});
  ClientOptions o;
  o.port = server_->ws_port();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  o.token =
      *TokenSigner(testing::kTestSecret).Issue({"default", "mallory", "d9", "ios", 0}, now, 3600);
  o.request_timeout_ms = 10'000;
  FlareClient mallory(o);
  Status refused = mallory.Connect();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("account suspended"), std::string::npos) << refused.ToString();

  auto alice = Connected("alice");  // allowed: signed in as usual
  ASSERT_TRUE(alice->SendText("bob", "hi").ok());
  auto calls = CallsOf("pre_login");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["user_id"], "mallory");
  EXPECT_EQ(calls[0]["device"], "d9");
  EXPECT_EQ(calls[0]["platform"], "ios");
  EXPECT_EQ(calls[1]["user_id"], "alice");
}

}  // namespace
}  // namespace flare
