// Hooks end to end: an embedded server (in this process, so the test can
// hand it [[hooks]] directly) calling a real HTTP receiver the test starts,
// with real clients over WebSocket.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/sqlite/sqlite_hook_dead_letters.h"
#include "app/embedded_server.h"
#include "common/ids.h"
#include "services/signaling/online/token.h"
#include "support/frames.h"
#include "support/hook_receiver.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::HookReceiver;
using testing::Inbox;
using testing::ReceivedCall;
using testing::ReceiverReply;

const std::string kHookSecret = "e2e-hook-secret-0123456789";

HookConfig Hook(const std::string& name, const std::string& point, const std::string& url) {
  HookConfig h;
  h.name = name;
  h.point = point;
  h.url = url;
  h.secret = kHookSecret;
  return h;
}

std::string TextOf(const ReceivedCall& call) {
  return nlohmann::json::parse(call.body)["message"]["content"]["text"];
}

class E2eHooks : public ::testing::Test {
 protected:
  void StartServer(std::vector<HookConfig> hooks) {
    data_dir_ = std::filesystem::temp_directory_path() / ("flare-hooks-" + NewClientMsgId());
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

  std::unique_ptr<FlareClient> Client(const std::string& user,
                                      const std::string& tenant = "default") {
    ClientOptions o;
    o.port = server_->ws_port();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    o.token = *TokenSigner(testing::kTestSecret).Issue({tenant, user, "d1", "test", 0}, now, 3600);
    o.request_timeout_ms = 10'000;
    return std::make_unique<FlareClient>(o);
  }

  std::string Metrics() const {
    std::string out;
    CURL* curl = curl_easy_init();
    std::string url = "http://127.0.0.1:" + std::to_string(server_->http_port()) + "/metrics";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* o) -> size_t {
          static_cast<std::string*>(o)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    return out;
  }

  HookReceiver receiver_{kHookSecret};
  std::filesystem::path data_dir_;
  std::unique_ptr<EmbeddedServer> server_;
};

TEST_F(E2eHooks, ARejectionReachesTheSenderWithTheHooksCodeAndNothingIsStored) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    if (TextOf(call).find("spam") != std::string::npos) {
      return ReceiverReply{200, R"({"action":"reject","code":4031,"reason":"no spam here"})"};
    }
    return ReceiverReply{};
  });
  StartServer({Hook("policy", "pre_send", receiver_.url())});
  auto alice = Client("alice"), bob = Client("bob");
  Inbox bob_inbox(*bob);
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(bob->Connect().ok());

  pb::ServerFrame refused = testing::SendTextFrame(*alice, "bob", "buy spam");
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(refused.error().hook_code(), 4031);
  EXPECT_EQ(refused.error().message(), "no spam here");

  pb::ServerFrame accepted = testing::SendTextFrame(*alice, "bob", "hello");
  ASSERT_TRUE(accepted.has_send_ack()) << accepted.DebugString();
  EXPECT_EQ(accepted.send_ack().seq(), 1);  // the refused send took no seq
  auto got = bob_inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content().text(), "hello");
  auto sync = bob->Sync(accepted.send_ack().conversation_id(), 0, 10);
  ASSERT_TRUE(sync.ok());
  ASSERT_EQ(sync->messages_size(), 1);
  EXPECT_EQ(sync->messages(0).content().text(), "hello");
}

TEST_F(E2eHooks, ARewriteIsWhatIsStoredAndDelivered) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    nlohmann::json answer = {{"content", {{"text", "[checked] " + TextOf(call)}}},
                             {"attributes", {{"moderation", "passed"}}}};
    return ReceiverReply{200, answer.dump()};
  });
  StartServer({Hook("moderator", "pre_send", receiver_.url())});
  auto alice = Client("alice"), bob = Client("bob");
  Inbox bob_inbox(*bob);
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(bob->Connect().ok());
  auto ack = alice->SendText("bob", "hi bob");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();

  auto got = bob_inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content().text(), "[checked] hi bob");
  EXPECT_EQ(got[0].attributes().at("moderation"), "passed");
  auto sync = alice->Sync(ack->conversation_id(), 0, 10);
  ASSERT_TRUE(sync.ok());
  ASSERT_EQ(sync->messages_size(), 1);
  EXPECT_EQ(sync->messages(0).content().text(), "[checked] hi bob");
}

TEST_F(E2eHooks, ATimedOutHookPassesUnderFailOpenAndRefusesUnderFailClosed) {
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "", 2'000}; });
  HookConfig open = Hook("open", "pre_send", receiver_.url());
  open.tenants = {"lenient"};
  open.timeout_ms = 100;
  HookConfig closed = Hook("closed", "pre_send", receiver_.url());
  closed.tenants = {"strict"};
  closed.timeout_ms = 100;
  closed.failure_policy = "fail_closed";
  StartServer({open, closed});
  auto lenient = Client("alice", "lenient"), strict = Client("alice", "strict");
  ASSERT_TRUE(lenient->Connect().ok());
  ASSERT_TRUE(strict->Connect().ok());

  pb::ServerFrame passed = testing::SendTextFrame(*lenient, "bob", "hello");
  EXPECT_TRUE(passed.has_send_ack()) << passed.DebugString();
  pb::ServerFrame refused = testing::SendTextFrame(*strict, "bob", "hello");
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), pb::ERROR_CODE_UNAVAILABLE);

  std::string metrics = Metrics();
  EXPECT_NE(metrics.find("flare_hook_timeouts_total{hook=\"open\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("flare_hook_timeouts_total{hook=\"closed\"} 1\n"), std::string::npos);
}

TEST_F(E2eHooks, PostSendIsDeliveredAfterStorageAndDeadLetteredWhenItKeepsFailing) {
  HookReceiver failing(kHookSecret);
  failing.SetHandler([](const ReceivedCall&) { return ReceiverReply{503, ""}; });
  HookConfig crm = Hook("crm", "post_send", receiver_.url());
  HookConfig broken = Hook("broken", "post_send", failing.url());
  broken.max_attempts = 2;
  broken.backoff_ms = 10;
  StartServer({crm, broken});
  auto alice = Client("alice");
  ASSERT_TRUE(alice->Connect().ok());
  auto ack = alice->SendText("bob", "for the crm");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();

  ASSERT_TRUE(receiver_.WaitForCalls(1));
  auto body = nlohmann::json::parse(receiver_.Calls()[0].body);
  EXPECT_EQ(body["point"], "post_send");
  EXPECT_EQ(body["message"]["seq"], "1");  // int64 in proto3 JSON is a string
  EXPECT_EQ(body["message"]["server_msg_id"], ack->server_msg_id());
  EXPECT_EQ(body["message"]["content"]["text"], "for the crm");

  ASSERT_TRUE(failing.WaitForCalls(2));
  auto dead_letters = SqliteHookDeadLetters::Open((data_dir_ / "hooks.db").string());
  ASSERT_TRUE(dead_letters.ok()) << dead_letters.status().ToString();
  std::vector<HookDeadLetter> letters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (letters.empty() && std::chrono::steady_clock::now() < deadline) {
    auto recent = (*dead_letters)->Recent(10);
    ASSERT_TRUE(recent.ok());
    letters = *recent;
  }
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].hook, "broken");
  EXPECT_EQ(letters[0].attempts, 2);
  EXPECT_EQ(letters[0].event_id, ack->server_msg_id() + ":broken");

  std::string metrics = Metrics();
  EXPECT_NE(metrics.find("flare_hook_calls_total{hook=\"crm\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("flare_hook_calls_total{hook=\"broken\"} 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("flare_hook_dead_letters_total{hook=\"broken\"} 1\n"), std::string::npos);
}

TEST_F(E2eHooks, SendsAreAckedWhileAPostSendHookHangs) {
  // The receiver holds every call for 20 s (cut short when it is destroyed).
  receiver_.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "", 20'000}; });
  HookConfig slow = Hook("slow-crm", "post_send", receiver_.url());
  slow.timeout_ms = 30'000;
  slow.max_concurrency = 1;
  StartServer({slow});
  auto alice = Client("alice");
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(alice->SendText("bob", "first").ok());
  ASSERT_TRUE(receiver_.WaitForCalls(1));  // the hook now hangs on "first"
  for (int i = 2; i <= 5; ++i) {
    auto ack = alice->SendText("bob", "more");
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    EXPECT_EQ(ack->seq(), i);
  }
  EXPECT_EQ(receiver_.CallCount(), 1u);  // still on its first call, not answered
}

TEST_F(E2eHooks, ALaterSendWhoseHookAnswersFirstStillGetsTheLaterSeq) {
  receiver_.SetHandler([](const ReceivedCall& call) {
    return ReceiverReply{200, "", TextOf(call) == "first" ? 500 : 0};
  });
  StartServer({Hook("policy", "pre_send", receiver_.url())});
  auto alice = Client("alice");
  ASSERT_TRUE(alice->Connect().ok());
  pb::ServerFrame first_reply;
  std::thread first([&] { first_reply = testing::SendTextFrame(*alice, "bob", "first"); });
  ASSERT_TRUE(receiver_.WaitForCalls(1));  // "first" is with its (slow) hook
  pb::ServerFrame second_reply = testing::SendTextFrame(*alice, "bob", "second");
  first.join();
  ASSERT_TRUE(first_reply.has_send_ack()) << first_reply.DebugString();
  ASSERT_TRUE(second_reply.has_send_ack()) << second_reply.DebugString();
  EXPECT_EQ(first_reply.send_ack().seq(), 1);
  EXPECT_EQ(second_reply.send_ack().seq(), 2);
}

}  // namespace
}  // namespace flare
