// The APNs provider and push-worker against tests/support/apns_server.py, a
// real HTTP/2 server (python3-h2) over TLS with a certificate the test makes,
// or h2c: the provider token's ES256 signature and claims, the payload and
// headers, a 410 disabling the token, retries on the ManualClock, dead
// letters, and the token refreshed after ExpiredProviderToken.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "push_test_support.h"
#include "support/child_process.h"
#include "support/test_crypto.h"

namespace flare {
namespace {

using testing::Eventually;
using testing::MakeTask;

constexpr const char* kTeam = "TEAM123456";
constexpr const char* kKeyId = "KEY7890ABC";
constexpr const char* kTopic = "com.example.chat";

// apns_server.py as a child process; its stdout is one JSON line per request.
class ApnsTestServer {
 public:
  ApnsTestServer(const std::string& script, const std::string& cert_file = "",
                 const std::string& key_file = "") {
    std::vector<std::string> argv = {
        "/usr/bin/python3", "-u", std::string(FLARE_SOURCE_DIR) + "/tests/support/apns_server.py",
        "--script", script};
    if (!cert_file.empty()) argv.insert(argv.end(), {"--cert", cert_file, "--key", key_file});
    if (!process_.Start(argv)) return;
    auto line = process_.ReadLine(std::chrono::seconds(10));
    if (line && line->rfind("apns-test-server listening", 0) == 0) {
      port_ = testing::AnnouncedPort(*line);
    }
  }
  uint16_t port() const { return port_; }
  // The next request the server recorded, or null.
  nlohmann::json NextRequest() {
    auto line = process_.ReadLine(std::chrono::seconds(10));
    if (!line) return nullptr;
    return nlohmann::json::parse(*line, nullptr, false);
  }

 private:
  testing::ChildProcess process_;
  uint16_t port_ = 0;
};

class ApnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = testing::MakeEcP256Key();
    key_file_ = dir_.Write("AuthKey.p8", key_.private_pem);
    auto cert = testing::MakeSelfSignedCertificate();
    cert_file_ = dir_.Write("server.crt", cert.cert_pem);
    cert_key_file_ = dir_.Write("server.key", cert.key_pem);
  }

  // Providers for `endpoint`, built from config as the server builds them.
  std::unique_ptr<PushProviderDirectory> Providers(const std::string& endpoint) {
    Config config;
    config.push_providers.by_tenant["*"]["apns"] = {
        {"endpoint", endpoint},  {"team_id", kTeam}, {"key_id", kKeyId},
        {"key_file", key_file_}, {"topic", kTopic},  {"ca_file", cert_file_}};
    auto opened = OpenPushProviders(config, clock_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  static PushWorkerOptions Options() {
    PushWorkerOptions o;
    o.max_attempts = 3;
    o.initial_backoff_ms = 1'000;
    o.max_backoff_ms = 4'000;
    return o;
  }

  // Advances past any backoff and starts what is due.
  void AdvanceAndPump(PushWorker& worker, int64_t ms = 4'000) {
    clock_.Advance(ms);
    worker.Pump();
  }

  ManualClock clock_;
  testing::TempDir dir_;
  testing::TestKeyPair key_;
  std::string key_file_, cert_file_, cert_key_file_;
};

TEST_F(ApnsTest, DeliversOverTlsWithASignedProviderTokenAndThePayload) {
  ApnsTestServer server("{}", cert_file_, cert_key_file_);
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("https://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  auto task = MakeTask("t1", "ios", "tok-ok");
  task.set_badge(3);
  task.set_collapse_id("conv-1");
  (*task.mutable_data())["conversation_id"] = "conv-1";
  ASSERT_TRUE(rig.worker().Submit(task).ok());
  rig.worker().Pump();
  ASSERT_TRUE(Eventually([&] { return rig.worker().StatsOf("acme").sent == 1; }))
      << testing::StatsText(rig.worker());

  nlohmann::json request = server.NextRequest();
  ASSERT_TRUE(request.is_object());
  EXPECT_EQ(request["method"], "POST");
  EXPECT_EQ(request["path"], "/3/device/tok-ok");
  const auto& h = request["headers"];
  EXPECT_EQ(h["apns-topic"], kTopic);
  EXPECT_EQ(h["apns-push-type"], "alert");
  EXPECT_EQ(h["apns-collapse-id"], "conv-1");
  EXPECT_EQ(h["apns-priority"], "10");
  std::string authorization = h["authorization"];
  ASSERT_EQ(authorization.rfind("bearer ", 0), 0u) << authorization;
  auto jwt = testing::VerifyJwt(authorization.substr(7), key_.public_pem);
  ASSERT_TRUE(jwt.ok) << jwt.error;
  EXPECT_EQ(jwt.header["alg"], "ES256");
  EXPECT_EQ(jwt.header["kid"], kKeyId);
  EXPECT_EQ(jwt.claims["iss"], kTeam);
  EXPECT_EQ(jwt.claims["iat"], clock_.NowMs() / 1000);
  // A token signed with another key does not verify: the check is real.
  EXPECT_FALSE(testing::VerifyJwt(authorization.substr(7), testing::MakeEcP256Key().public_pem).ok);

  auto body = nlohmann::json::parse(std::string(request["body"]));
  EXPECT_EQ(body["aps"]["alert"]["title"], "Alice");
  EXPECT_EQ(body["aps"]["alert"]["body"], "hello t1");
  EXPECT_EQ(body["aps"]["badge"], 3);
  EXPECT_EQ(body["conversation_id"], "conv-1");
  EXPECT_EQ(rig.worker().StatsOfProvider("apns").sent, 1);
  EXPECT_NE(rig.metrics().Render().find("flare_push_sent_total{provider=\"apns\"} 1"),
            std::string::npos);
}

TEST_F(ApnsTest, GoneTokenIsDisabledAndNotRetried) {
  ApnsTestServer server(R"({"tok-gone": [[410, "Unregistered"]]})", cert_file_, cert_key_file_);
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("https://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  auto gone = MakeTask("t-gone", "ios", "tok-gone");
  rig.RegisterDeviceOf(gone);
  ASSERT_TRUE(rig.worker().Submit(gone).ok());
  rig.worker().Pump();
  ASSERT_TRUE(testing::PumpedUntil(rig.worker(), [&] {
    return rig.worker().StatsOf("acme").token_disabled == 1;
  })) << testing::StatsText(rig.worker());
  auto device = rig.Device("acme", gone.user_id(), gone.device_id());
  EXPECT_TRUE(device.disabled);
  EXPECT_EQ(device.disabled_reason, "Unregistered");
  EXPECT_EQ(server.NextRequest()["path"], "/3/device/tok-gone");

  // Not queued again, and not a dead letter.
  EXPECT_EQ(rig.worker().Queued(), 0u);
  AdvanceAndPump(rig.worker(), 60'000);
  EXPECT_TRUE(Eventually([&] { return rig.worker().InFlight() == 0; }));
  EXPECT_EQ(rig.worker().StatsOf("acme").retried, 0);
  EXPECT_TRUE(rig.worker().RecentDeadLetters().empty());
}

TEST_F(ApnsTest, RetriableErrorsAreRetriedOnTheClockThenDelivered) {
  ApnsTestServer server(
      R"({"tok-busy": [[429, "TooManyRequests"], [500, "InternalServerError"], [200]]})",
      cert_file_, cert_key_file_);
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("https://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t-busy", "ios", "tok-busy")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").retried == 1; }))
      << testing::StatsText(worker);
  // Waiting for its backoff: pumping without the clock moving sends nothing.
  worker.Pump();
  EXPECT_EQ(worker.Queued(), 1u);
  EXPECT_EQ(worker.InFlight(), 0u);
  AdvanceAndPump(worker);
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").retried == 2; }))
      << testing::StatsText(worker);
  AdvanceAndPump(worker);
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 1; }))
      << testing::StatsText(worker);
  EXPECT_EQ(worker.StatsOf("acme").failed, 2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(server.NextRequest()["path"], "/3/device/tok-busy");
  EXPECT_TRUE(worker.RecentDeadLetters().empty());
}

TEST_F(ApnsTest, EveryAttemptFailingGivesOneDeadLetter) {
  ApnsTestServer server(R"({"tok-down": [[503, "ServiceUnavailable"]]})", cert_file_,
                        cert_key_file_);
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("https://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t-down", "ios", "tok-down")).ok());
  worker.Pump();
  for (int64_t retried = 1; retried <= 2; ++retried) {
    ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").retried == retried; }))
        << testing::StatsText(worker);
    AdvanceAndPump(worker);
  }
  ASSERT_TRUE(testing::PumpedUntil(worker, [&] {
    return worker.StatsOf("acme").dead_lettered == 1;
  })) << testing::StatsText(worker);
  EXPECT_EQ(worker.StatsOf("acme").failed, 3);
  EXPECT_EQ(worker.Queued(), 0u);
  auto published = rig.PublishedDeadLetters();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].task().task_id(), "t-down");
  EXPECT_EQ(published[0].task().attempt(), 3);
  EXPECT_EQ(published[0].http_status(), 503);
  EXPECT_EQ(published[0].reason(), "ServiceUnavailable");
  ASSERT_EQ(worker.RecentDeadLetters().size(), 1u);
  EXPECT_EQ(worker.RecentDeadLetters()[0].task().token(), "tok-down");
}

TEST_F(ApnsTest, ProviderTokenIsReusedAndSignedAgainAfterExpiredProviderToken) {
  ApnsTestServer server(R"({"tok-exp": [[403, "ExpiredProviderToken"], [200]]})");  // h2c
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("http://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t-a", "ios", "tok-a")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 1; }))
      << testing::StatsText(worker);
  clock_.Advance(10 * 60'000);  // 10 minutes later: the same token
  ASSERT_TRUE(worker.Submit(MakeTask("t-exp", "ios", "tok-exp")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").retried == 1; }))
      << testing::StatsText(worker);
  AdvanceAndPump(worker);
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 2; }))
      << testing::StatsText(worker);

  auto bearer = [](const nlohmann::json& r) {
    return std::string(r["headers"]["authorization"]).substr(7);
  };
  std::string first = bearer(server.NextRequest());
  std::string refused = bearer(server.NextRequest());
  std::string fresh = bearer(server.NextRequest());
  EXPECT_EQ(first, refused);
  EXPECT_NE(refused, fresh);
  auto jwt = testing::VerifyJwt(fresh, key_.public_pem);
  ASSERT_TRUE(jwt.ok) << jwt.error;
  EXPECT_EQ(jwt.claims["iat"], clock_.NowMs() / 1000);
}

TEST_F(ApnsTest, TokenOlderThanTheRefreshPeriodIsSignedAgain) {
  ApnsTestServer server("{}");
  ASSERT_NE(server.port(), 0);
  auto providers = Providers("http://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(providers);
  testing::WorkerRig rig(*providers, clock_, Options());
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t-1", "ios", "tok-1")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 1; }))
      << testing::StatsText(worker);
  clock_.Advance(50 * 60'000);  // token_refresh_s defaults to 50 minutes
  ASSERT_TRUE(worker.Submit(MakeTask("t-2", "ios", "tok-2")).ok());
  worker.Pump();
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 2; }))
      << testing::StatsText(worker);
  std::string a = server.NextRequest()["headers"]["authorization"];
  std::string b = server.NextRequest()["headers"]["authorization"];
  EXPECT_NE(a, b);
}

TEST_F(ApnsTest, BadConfigIsRefusedNamingTheKey) {
  Config config;
  config.push_providers.by_tenant["*"]["apns"] = {
      {"team_id", kTeam}, {"key_id", kKeyId}, {"key_file", key_file_}};
  auto opened = OpenPushProviders(config, clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("push.providers.apns.topic"), std::string::npos)
      << opened.status().ToString();

  config.push_providers.by_tenant["*"]["apns"]["topic"] = kTopic;
  config.push_providers.by_tenant["beta"]["apns"] = {{"key_file", dir_.path() + "/missing.p8"}};
  opened = OpenPushProviders(config, clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("push.tenants.beta.apns.key_file"), std::string::npos)
      << opened.status().ToString();

  // A key that is not an EC P-256 key.
  config.push_providers.by_tenant["beta"]["apns"]["key_file"] =
      dir_.Write("rsa.p8", testing::MakeRsaKey().private_pem);
  opened = OpenPushProviders(config, clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("ES256"), std::string::npos)
      << opened.status().ToString();
}

}  // namespace
}  // namespace flare
