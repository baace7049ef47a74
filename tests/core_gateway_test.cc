// The core-gateway's HTTP API without a network: routing, the error shape,
// authentication and tenant scope, rate limits, timeouts, and the OpenAPI
// document built from the same route table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>

#include "adapters/memory/memory_settings_store.h"
#include "services/core_gateway/api_keys.h"
#include "services/core_gateway/circuit_breaker.h"
#include "services/core_gateway/console_files.h"
#include "services/core_gateway/http_api.h"
#include "services/signaling/online/token.h"
#include "support/test_crypto.h"

namespace flare {
namespace {

const std::string kSecret = "core-gateway-test-secret-0123456789abcdef";

// Sends one request and waits (bounded) for its answer.
struct Answer {
  int status = 0;
  nlohmann::json body;
  std::string text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return {};
  }
};

class CoreGatewayTest : public ::testing::Test {
 protected:
  CoreGatewayTest()
      : keys_(store_, clock_, 1'000), api_(tokens_, &keys_, clock_, nullptr, Options()) {
    api_.Add({.method = "GET",
              .path = "/v1/echo/{word}",
              .tag = "test",
              .summary = "echo",
              .access = kAccessApiKey | kAccessAdmin | kAccessUser,
              .scope = "messages:read",
              .handler = [](const std::shared_ptr<ApiCall>& call) {
                call->Reply(200, {{"word", call->Param("word")},
                                  {"tenant", call->caller().tenant},
                                  {"user", call->caller().user_id}});
              }});
    api_.Add({.method = "GET",
              .path = "/v1/flaky",
              .tag = "flaky",
              .summary = "fails while failing_ is set",
              .access = kAccessAdmin,
              .handler = [this](const std::shared_ptr<ApiCall>& call) {
                ++flaky_calls_;
                if (failing_) return call->Fail(Unavailable("down"));
                call->Reply(200, nlohmann::json::object());
              }});
    api_.Add({.method = "POST",
              .path = "/v1/echo/{word}",
              .tag = "test",
              .summary = "keeps the call and never answers",
              .scope = "messages:write",
              .handler = [this](const std::shared_ptr<ApiCall>& call) {
                std::lock_guard lock(held_mu_);
                held_.push_back(call);
              }});
    api_.Add({.method = "POST",
              .path = "/v1/dropped",
              .tag = "test",
              .summary = "drops the call without answering",
              .scope = "messages:write",
              .handler = [](const std::shared_ptr<ApiCall>&) {}});
  }

  static HttpApiOptions Options() {
    HttpApiOptions o;
    o.threads = 1;
    o.request_timeout_ms = 5'000;
    o.per_key = {1, 3};
    o.per_address = {1000, 1000};
    o.breaker_failures = 2;
    o.breaker_open_ms = 1'000;
    return o;
  }

  Answer Call(const std::string& method, const std::string& target, const std::string& bearer = "",
              const std::string& address = "10.0.0.1") {
    HttpServerRequest r;
    r.method = method;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    if (!bearer.empty()) r.headers.emplace_back("authorization", "Bearer " + bearer);
    r.remote_address = address;
    auto promise = std::make_shared<std::promise<HttpServerResponse>>();
    auto future = promise->get_future();
    api_.Handle(std::move(r), [promise](HttpServerResponse response) {
      promise->set_value(std::move(response));
    });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    HttpServerResponse response = future.get();
    Answer a{response.status, nlohmann::json::parse(response.body, nullptr, false), response.body,
             response.headers};
    return a;
  }

  std::string ClientToken(const std::string& user, const std::string& tenant = "acme") {
    return *tokens_.Issue({tenant, user, "d1", "web"}, clock_.NowMs() / 1000, 3600);
  }

  std::atomic<bool> failing_{false};
  std::mutex held_mu_;
  std::vector<std::shared_ptr<ApiCall>> held_;  // calls kept unanswered
  std::atomic<int> flaky_calls_{0};
  ManualClock clock_;
  MemorySettingsStore store_;
  TokenSigner tokens_{kSecret};
  ApiKeys keys_;
  HttpApi api_;
};

TEST_F(CoreGatewayTest, UnknownRoutesAndMethodsGetTheOneErrorShape) {
  Answer missing = Call("GET", "/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["error"]["code"], "no_route");
  EXPECT_FALSE(missing.body["error"]["request_id"].get<std::string>().empty());
  EXPECT_EQ(missing.Header("X-Request-Id"), missing.body["error"]["request_id"]);

  Answer wrong = Call("DELETE", "/v1/echo/x");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.body["error"]["code"], "method_not_allowed");
  EXPECT_EQ(wrong.Header("Allow"), "GET, POST");
}

TEST_F(CoreGatewayTest, CredentialsDecideWhoCallsAndForWhichTenant) {
  Answer none = Call("GET", "/v1/echo/hi");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body["error"]["code"], "unauthenticated");

  Answer user = Call("GET", "/v1/echo/hi", ClientToken("alice"));
  ASSERT_EQ(user.status, 200) << user.text;
  EXPECT_EQ(user.body["tenant"], "acme");
  EXPECT_EQ(user.body["user"], "alice");

  // A client token may not call a route for business servers only.
  EXPECT_EQ(Call("POST", "/v1/echo/hi", ClientToken("alice")).status, 403);

  auto admin = tokens_.IssueAdmin({"*", "ops", 0}, clock_.NowMs() / 1000, 60);
  Answer as_admin = Call("GET", "/v1/echo/hi?tenant=globex", *admin);
  ASSERT_EQ(as_admin.status, 200) << as_admin.text;
  EXPECT_EQ(as_admin.body["tenant"], "globex");

  auto acme_admin = tokens_.IssueAdmin({"acme", "ops", 0}, clock_.NowMs() / 1000, 60);
  EXPECT_EQ(Call("GET", "/v1/echo/hi?tenant=globex", *acme_admin).status, 403);
  EXPECT_EQ(Call("GET", "/v1/echo/hi", "not-a-token").status, 401);
}

TEST_F(CoreGatewayTest, ApiKeysNeedTheRouteScopeAndStopWorkingWhenRevoked) {
  auto reader = keys_.Create("acme", {"messages:read"});
  ASSERT_TRUE(reader.ok());
  Answer ok = Call("GET", "/v1/echo/hi", reader->key);
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(ok.body["tenant"], "acme");
  Answer denied = Call("POST", "/v1/echo/hi", reader->key);
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body["error"]["message"].get<std::string>().find("messages:write"),
            std::string::npos);

  EXPECT_EQ(Call("GET", "/v1/echo/hi", reader->key + "x").status, 401);
  ASSERT_TRUE(keys_.Revoke(reader->record.id).ok());
  EXPECT_EQ(Call("GET", "/v1/echo/hi", reader->key).status, 401);
}

TEST_F(CoreGatewayTest, EachKeyHasItsOwnTokenBucketWithRetryAfter) {
  auto key = keys_.Create("acme", {"*"});
  ASSERT_TRUE(key.ok());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Call("GET", "/v1/echo/hi", key->key).status, 200);
  Answer limited = Call("GET", "/v1/echo/hi", key->key);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body["error"]["code"], "rate_limited");
  EXPECT_EQ(limited.Header("Retry-After"), "1");
  // Another caller is not limited by this key's bucket.
  EXPECT_EQ(Call("GET", "/v1/echo/hi", ClientToken("bob")).status, 200);
  clock_.Advance(1'000);
  EXPECT_EQ(Call("GET", "/v1/echo/hi", key->key).status, 200);
}

TEST_F(CoreGatewayTest, ACallWithoutAnswerGets504AfterTheTimeout) {
  auto key = keys_.Create("acme", {"*"});
  ASSERT_TRUE(key.ok());
  HttpServerRequest r;
  r.method = "POST";
  r.path = "/v1/echo/slow";
  r.headers.emplace_back("authorization", "Bearer " + key->key);
  auto promise = std::make_shared<std::promise<HttpServerResponse>>();
  auto future = promise->get_future();
  api_.Handle(std::move(r), [promise](HttpServerResponse res) { promise->set_value(res); });
  api_.ExpireOverdue();  // not overdue yet
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  clock_.Advance(5'000);
  api_.ExpireOverdue();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto res = future.get();
  EXPECT_EQ(res.status, 504);
  EXPECT_NE(res.body.find("\"timeout\""), std::string::npos);
}

TEST_F(CoreGatewayTest, ACallDroppedWithoutAnswerIsAnsweredWithAnInternalError) {
  auto key = keys_.Create("acme", {"*"});
  ASSERT_TRUE(key.ok());
  Answer dropped = Call("POST", "/v1/dropped", key->key);
  EXPECT_EQ(dropped.status, 500);
  EXPECT_EQ(dropped.body["error"]["code"], "internal");
}

TEST_F(CoreGatewayTest, AFailingServiceOpensItsBreakerUntilATrialSucceeds) {
  auto admin = *tokens_.IssueAdmin({"*", "ops", 0}, clock_.NowMs() / 1000, 600);
  failing_ = true;
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).status, 503);
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).status, 503);
  Answer open = Call("GET", "/v1/flaky", admin);  // fails fast: the handler is not called
  EXPECT_EQ(open.status, 503);
  EXPECT_EQ(open.body["error"]["code"], "circuit_open");
  EXPECT_EQ(open.Header("Retry-After"), "1");
  EXPECT_EQ(flaky_calls_, 2);
  EXPECT_EQ(Call("GET", "/v1/echo/other", admin).status, 200);  // other services are not affected
  clock_.Advance(1'000);
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).status, 503);  // the trial fails: open again
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).body["error"]["code"], "circuit_open");
  clock_.Advance(1'000);
  failing_ = false;
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).status, 200);  // the trial succeeds: closed
  EXPECT_EQ(Call("GET", "/v1/flaky", admin).status, 200);
  EXPECT_EQ(flaky_calls_, 5);
}

TEST_F(CoreGatewayTest, TheOpenApiDocumentListsExactlyTheRoutes) {
  auto doc = nlohmann::json::parse(api_.OpenApiJson());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::pair<std::string, std::string>> documented, routed;
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items()) documented.insert({path, method});
  for (const auto& r : api_.routes()) {
    std::string m = r.method;
    for (char& c : m) c = static_cast<char>(std::tolower(c));
    routed.insert({r.path, m});
  }
  EXPECT_EQ(documented, routed);
  auto& get = doc["paths"]["/v1/echo/{word}"]["get"];
  EXPECT_EQ(get["parameters"][0]["name"], "word");
  EXPECT_EQ(get["x-flare-scope"], "messages:read");
  Answer served = Call("GET", "/openapi.json");
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, doc);
}

TEST(CircuitBreakerTest, ATrialNeverHeardOfIsGivenUpAfterTheOpenTime) {
  ManualClock clock;
  CircuitBreaker breaker(clock, 1, 1'000);
  breaker.Record("s", true);
  EXPECT_GT(breaker.Check("s"), 0);
  clock.Advance(1'000);
  EXPECT_EQ(breaker.Check("s"), 0);  // the trial; its answer is lost
  EXPECT_GT(breaker.Check("s"), 0);
  clock.Advance(1'000);
  EXPECT_EQ(breaker.Check("s"), 0);  // another trial, not open forever
  breaker.Record("s", false);
  EXPECT_EQ(breaker.Check("s"), 0);
}

TEST(ConsoleFilesTest, ServesFilesUnderTheRootOnly) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/web/app");
  dir.Write("web/index.html", "<h1>hi</h1>");
  dir.Write("web/app/main.js", "export {}");
  dir.Write("secret.txt", "jwt secret");
  std::filesystem::create_symlink(dir.path() + "/secret.txt", dir.path() + "/web/link.txt");
  ConsoleFiles files(dir.path() + "/web");
  auto get = [&](const std::string& path) {
    HttpServerRequest r;
    r.method = "GET";
    r.path = path;
    return files.Serve(r);
  };
  EXPECT_EQ(get("/").body, "<h1>hi</h1>");
  EXPECT_EQ(get("/app/main.js").status, 200);
  EXPECT_EQ(get("/app/main.js").content_type, "text/javascript; charset=utf-8");
  for (const std::string& bad : std::vector<std::string>{
           "//" + dir.path() + "/secret.txt", "/%2F" + dir.path().substr(1) + "/secret.txt",
           "/../secret.txt", "/app/%2E%2E/../secret.txt", "/link.txt", "/.hidden",
           "/app/..%2F..%2Fsecret.txt"}) {
    auto answer = get(bad);
    EXPECT_EQ(answer.status, 404) << bad;
    EXPECT_EQ(answer.body.find("jwt secret"), std::string::npos) << bad;
  }
}

TEST(DevTokensTest, OnlyForJsonRequestsOfThisMachineNamingALoopbackHost) {
  ManualClock clock;
  MemorySettingsStore store;
  TokenSigner tokens(kSecret);
  ApiKeys keys(store, clock, 1'000);
  HttpApiOptions options;
  options.dev_tokens_on_loopback = true;
  HttpApi api(tokens, &keys, clock, nullptr, options);
  api.Add({.method = "POST",
           .path = "/v1/dev/token",
           .tag = "console",
           .summary = "dev",
           .access = kAccessDevLoopback,
           .handler = [](const std::shared_ptr<ApiCall>& call) {
             call->Reply(200, nlohmann::json::object());
           }});
  auto call = [&](bool loopback, std::vector<std::pair<std::string, std::string>> headers) {
    HttpServerRequest r;
    r.method = "POST";
    r.path = "/v1/dev/token";
    r.from_loopback = loopback;
    r.remote_address = loopback ? "127.0.0.1" : "10.1.1.1";
    r.headers = std::move(headers);
    auto promise = std::make_shared<std::promise<HttpServerResponse>>();
    auto future = promise->get_future();
    api.Handle(std::move(r), [promise](HttpServerResponse res) { promise->set_value(res); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get().status;
  };
  std::pair<std::string, std::string> json = {"content-type", "application/json"};
  EXPECT_EQ(call(true, {{"host", "localhost:8080"}, json}), 200);
  EXPECT_EQ(call(true, {{"host", "127.0.0.1:8080"}, json}), 200);
  EXPECT_EQ(call(true, {{"host", "[::1]:8080"}, json}), 200);
  EXPECT_EQ(call(false, {{"host", "localhost:8080"}, json}), 403);
  EXPECT_EQ(call(true, {{"host", "evil.example:8080"}, json}), 403);  // DNS rebinding
  EXPECT_EQ(call(true, {{"host", "localhost:8080"}, json, {"x-forwarded-for", "1.2.3.4"}}), 403);
  EXPECT_EQ(call(true, {{"host", "localhost:8080"}, {"content-type", "text/plain"}}), 403);
  EXPECT_EQ(call(true, {json}), 403);
}

TEST(ApiKeys, OnlyAHashOfTheSecretIsSavedAndOtherProcessesSeeRevocations) {
  ManualClock clock;
  MemorySettingsStore store;
  ApiKeys here(store, clock, 1'000), there(store, clock, 1'000);
  auto created = here.Create("acme", {"push", "tokens"});
  ASSERT_TRUE(created.ok());
  std::string secret = created->key.substr(created->key.rfind('_') + 1);
  auto saved = store.Get("api_keys");
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->value.find(secret), std::string::npos);
  // A new key works at once in another process (an unknown id reloads).
  auto seen = there.Authenticate(created->key);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_TRUE(seen->Allows("push"));
  EXPECT_FALSE(seen->Allows("groups"));

  ASSERT_TRUE(here.Revoke(created->record.id).ok());
  EXPECT_FALSE(here.Authenticate(created->key).ok());
  clock.Advance(1'000);  // the other process reads the list again
  EXPECT_EQ(there.Authenticate(created->key).status().code(), Code::kUnauthenticated);

  EXPECT_EQ(here.Create("acme", {"everything"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(here.Revoke("nope").code(), Code::kNotFound);
  auto listed = here.List("acme");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_NE((*listed)[0].revoked_ms, 0);
}

}  // namespace
}  // namespace flare
