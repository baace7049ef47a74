// The FCM provider against a real local HTTP server (support/hook_receiver)
// acting as the service account's token_uri and as the FCM endpoint: the
// RS256 assertion, the access token reused across sends and fetched again
// after a 401 or near its expiry, the message body, UNREGISTERED disabling
// the token. Then the push webhook provider: its signature verifies.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "push_test_support.h"
#include "support/hook_receiver.h"
#include "support/test_crypto.h"

namespace flare {
namespace {

using testing::Eventually;
using testing::MakeTask;
using testing::ReceivedCall;
using testing::ReceiverReply;

constexpr const char* kEmail = "push@proj-1.iam.gserviceaccount.com";

std::string FormValue(const std::string& form, const std::string& name) {
  size_t at = form.find(name + "=");
  if (at == std::string::npos) return "";
  std::string raw = form.substr(at + name.size() + 1, form.find('&', at) - at - name.size() - 1);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += raw[i] == '+' ? ' ' : raw[i];
    }
  }
  return out;
}

nlohmann::json FcmError(int code, const std::string& status, const std::string& error_code) {
  return {{"error",
           {{"code", code},
            {"status", status},
            {"message", "error"},
            {"details",
             {{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
               {"errorCode", error_code}}}}}}};
}

class FcmTest : public ::testing::Test {
 protected:
  FcmTest() : server_("unused") {
    server_.SetVerifySignatures(false);
    server_.SetHandler([this](const ReceivedCall& call) { return Answer(call); });
    key_ = testing::MakeRsaKey();
    nlohmann::json account = {{"type", "service_account"},
                              {"project_id", "proj-1"},
                              {"client_email", kEmail},
                              {"private_key", key_.private_pem},
                              {"token_uri", server_.url("/token")}};
    Config config;
    config.push_providers.by_tenant["*"]["fcm"] = {
        {"endpoint", server_.url("")},
        {"service_account_file", dir_.Write("account.json", account.dump())}};
    auto opened = OpenPushProviders(config, clock_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) providers_ = std::move(opened).value();
  }

  ReceiverReply Answer(const ReceivedCall& call) {
    if (call.path == "/token") {
      int n = ++tokens_issued_;
      return {200, nlohmann::json{{"access_token", "at-" + std::to_string(n)},
                                  {"expires_in", 3600},
                                  {"token_type", "Bearer"}}
                       .dump()};
    }
    auto body = nlohmann::json::parse(call.body, nullptr, false);
    std::string token = body.is_object() ? body["message"].value("token", "") : "";
    if (token == "tok-unreg") return {404, FcmError(404, "NOT_FOUND", "UNREGISTERED").dump()};
    if (token == "tok-401" && !rejected_once_.exchange(true)) {
      return {401, FcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR").dump()};
    }
    return {200, R"({"name":"projects/proj-1/messages/1"})"};
  }

  std::vector<ReceivedCall> CallsTo(const std::string& path) const {
    std::vector<ReceivedCall> out;
    for (const auto& c : server_.Calls()) {
      if (c.path == path) out.push_back(c);
    }
    return out;
  }

  static constexpr const char* kSendPath = "/v1/projects/proj-1/messages:send";
  ManualClock clock_;
  testing::TempDir dir_;
  testing::HookReceiver server_;
  testing::TestKeyPair key_;
  std::atomic<int> tokens_issued_{0};
  std::atomic<bool> rejected_once_{false};
  std::unique_ptr<PushProviderDirectory> providers_;
};

TEST_F(FcmTest, AccessTokenFromASignedAssertionIsReusedAcrossSends) {
  ASSERT_TRUE(providers_);
  testing::WorkerRig rig(*providers_, clock_, PushWorkerOptions{});
  auto first = MakeTask("t1", "android", "tok-1");
  first.set_badge(7);
  first.set_collapse_id("conv-9");
  (*first.mutable_data())["conversation_id"] = "conv-9";
  ASSERT_TRUE(rig.worker().Submit(first).ok());
  rig.worker().Pump();
  ASSERT_TRUE(Eventually([&] { return rig.worker().StatsOf("acme").sent == 1; }))
      << testing::StatsText(rig.worker());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t2", "android", "tok-2")).ok());
  rig.worker().Pump();
  ASSERT_TRUE(Eventually([&] { return rig.worker().StatsOf("acme").sent == 2; }))
      << testing::StatsText(rig.worker());

  auto token_calls = CallsTo("/token");
  ASSERT_EQ(token_calls.size(), 1u);
  const std::string& form = token_calls[0].body;
  EXPECT_EQ(FormValue(form, "grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  auto jwt = testing::VerifyJwt(FormValue(form, "assertion"), key_.public_pem);
  ASSERT_TRUE(jwt.ok) << jwt.error;
  EXPECT_EQ(jwt.header["alg"], "RS256");
  EXPECT_EQ(jwt.claims["iss"], kEmail);
  EXPECT_EQ(jwt.claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(jwt.claims["aud"], server_.url("/token"));
  int64_t iat = clock_.NowMs() / 1000;
  EXPECT_EQ(jwt.claims["iat"], iat);
  EXPECT_EQ(jwt.claims["exp"], iat + 3600);
  EXPECT_FALSE(
      testing::VerifyJwt(FormValue(form, "assertion"), testing::MakeRsaKey().public_pem).ok);

  auto sends = CallsTo(kSendPath);
  ASSERT_EQ(sends.size(), 2u);
  for (const auto& s : sends) EXPECT_EQ(s.headers.at("authorization"), "Bearer at-1");
  auto message = nlohmann::json::parse(sends[0].body)["message"];
  EXPECT_EQ(message["token"], "tok-1");
  EXPECT_EQ(message["notification"]["title"], "Alice");
  EXPECT_EQ(message["notification"]["body"], "hello t1");
  EXPECT_EQ(message["data"]["conversation_id"], "conv-9");
  EXPECT_EQ(message["android"]["collapse_key"], "conv-9");
  EXPECT_EQ(message["android"]["notification"]["notification_count"], 7);
}

TEST_F(FcmTest, AccessTokenIsFetchedAgainNearItsExpiryAndAfterA401) {
  ASSERT_TRUE(providers_);
  testing::WorkerRig rig(*providers_, clock_, PushWorkerOptions{});
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t1", "android", "tok-1")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 1; }))
      << testing::StatsText(worker);
  clock_.Advance((3600 - 59) * 1000);  // within a minute of expires_in
  ASSERT_TRUE(worker.Submit(MakeTask("t2", "android", "tok-401")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").retried == 1; }))
      << testing::StatsText(worker);
  clock_.Advance(PushWorkerOptions{}.max_backoff_ms);
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 2; }))
      << testing::StatsText(worker);
  EXPECT_EQ(CallsTo("/token").size(), 3u);  // first, near expiry, after the 401
  auto sends = CallsTo(kSendPath);
  ASSERT_EQ(sends.size(), 3u);
  EXPECT_EQ(sends[0].headers.at("authorization"), "Bearer at-1");
  EXPECT_EQ(sends[1].headers.at("authorization"), "Bearer at-2");
  EXPECT_EQ(sends[2].headers.at("authorization"), "Bearer at-3");
}

TEST_F(FcmTest, UnregisteredTokenIsDisabled) {
  ASSERT_TRUE(providers_);
  testing::WorkerRig rig(*providers_, clock_, PushWorkerOptions{});
  auto task = MakeTask("t-unreg", "android", "tok-unreg");
  rig.RegisterDeviceOf(task);
  ASSERT_TRUE(rig.worker().Submit(task).ok());
  rig.worker().Pump();
  ASSERT_TRUE(testing::PumpedUntil(rig.worker(), [&] {
    return rig.worker().StatsOf("acme").token_disabled == 1;
  })) << testing::StatsText(rig.worker());
  auto device = rig.Device("acme", task.user_id(), task.device_id());
  EXPECT_TRUE(device.disabled);
  EXPECT_EQ(device.disabled_reason, "UNREGISTERED");
  EXPECT_EQ(rig.worker().Queued(), 0u);
  EXPECT_TRUE(rig.worker().RecentDeadLetters().empty());
}

TEST(PushWebhookTest, SignedNotificationVerifiesAndARefusalIsADeadLetter) {
  ManualClock clock;
  testing::HookReceiver receiver("push-secret");
  receiver.SetHandler([](const ReceivedCall& call) -> ReceiverReply {
    return call.body.find("tok-gone") != std::string::npos ? ReceiverReply{410, "{}"}
                                                           : ReceiverReply{200, "{}"};
  });
  Config config;
  config.push_providers.by_tenant["*"]["webhook"] = {{"url", receiver.url("/push")},
                                                     {"secret", "push-secret"}};
  config.push_providers.by_tenant["other"]["webhook"] = {{"secret", "wrong-secret"}};
  auto providers = OpenPushProviders(config, clock);
  ASSERT_TRUE(providers.ok()) << providers.status().ToString();
  testing::WorkerRig rig(*providers.value(), clock, PushWorkerOptions{});
  PushWorker& worker = rig.worker();

  auto task = MakeTask("t-web", "web", "tok-web");
  task.set_badge(2);
  ASSERT_TRUE(worker.Submit(task).ok());
  auto gone = MakeTask("t-gone", "web", "tok-gone");
  rig.RegisterDeviceOf(gone);
  ASSERT_TRUE(worker.Submit(gone).ok());
  // Tenant "other" overrides the secret: the receiver refuses it (401), for good.
  auto forged = MakeTask("t-other", "web", "tok-other");
  forged.set_tenant("other");
  ASSERT_TRUE(worker.Submit(forged).ok());
  worker.Pump();
  ASSERT_TRUE(testing::PumpedUntil(worker, [&] {
    return worker.StatsOf("acme").sent == 1 && worker.StatsOf("acme").token_disabled == 1 &&
           worker.StatsOf("other").dead_lettered == 1;
  }));
  ASSERT_TRUE(receiver.WaitForCalls(3));
  int verified = 0;
  for (const auto& call : receiver.Calls()) {
    auto body = nlohmann::json::parse(call.body);
    if (body["tenant"] == "other") {
      EXPECT_FALSE(call.signature_ok);
      continue;
    }
    EXPECT_TRUE(call.signature_ok) << call.signature_error;
    ++verified;
    if (body["task_id"] == "t-web") {
      EXPECT_EQ(body["token"], "tok-web");
      EXPECT_EQ(body["platform"], "web");
      EXPECT_EQ(body["title"], "Alice");
      EXPECT_EQ(body["badge"], 2);
    }
  }
  EXPECT_EQ(verified, 2);
  EXPECT_TRUE(rig.Device("acme", gone.user_id(), gone.device_id()).disabled);
  auto letters = rig.PublishedDeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].http_status(), 401);
  EXPECT_EQ(letters[0].task().tenant(), "other");
}

TEST(PushWebhookTest, ClosingTheProvidersFailsWhatIsInFlight) {
  ManualClock clock;
  testing::HookReceiver receiver("push-secret");
  receiver.SetHandler([](const ReceivedCall&) { return ReceiverReply{200, "{}", 30'000}; });
  Config config;
  config.push_providers.by_tenant["*"]["webhook"] = {{"url", receiver.url("/push")},
                                                     {"secret", "push-secret"}};
  auto providers = OpenPushProviders(config, clock);
  ASSERT_TRUE(providers.ok()) << providers.status().ToString();
  PushProvider* webhook = providers.value()->Find("acme", "web").provider;
  ASSERT_NE(webhook, nullptr);
  std::atomic<int> answered{0};
  PushSendResult result;
  PushNotification n = ToNotification(MakeTask("t-slow", "web", "tok"));
  webhook->Send(n, std::chrono::steady_clock::now() + std::chrono::seconds(60),
                [&](PushSendResult r) {
                  result = r;
                  answered.fetch_add(1);
                });
  ASSERT_TRUE(receiver.WaitForCalls(1));  // in flight: the receiver holds its answer
  providers.value()->Close();             // returns once every `done` ran
  EXPECT_EQ(answered.load(), 1);
  EXPECT_EQ(result.kind, PushSendResult::Kind::kRetriable);
  // Later sends are refused at once, not lost.
  webhook->Send(n, std::chrono::steady_clock::now() + std::chrono::seconds(60),
                [&](PushSendResult r) {
                  result = r;
                  answered.fetch_add(1);
                });
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ(result.kind, PushSendResult::Kind::kRetriable);
}

}  // namespace
}  // namespace flare
