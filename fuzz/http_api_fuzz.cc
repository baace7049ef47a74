// The HTTP API's request handling without a network: route matching and
// path parameters, percent-decoding, query integers, credentials (a client
// token, an admin token, an API key) and JSON bodies. Every request gets
// exactly one answer with a status from 200 to 599.
//
// Input: a method line, a target line (path?query), header lines up to an
// empty line, then the body. "Bearer $USER" and "Bearer $ADMIN" stand for
// valid tokens, so mutations get past authentication too.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "adapters/memory/memory_settings_store.h"
#include "common/clock.h"
#include "fuzz_check.h"
#include "services/core_gateway/api_keys.h"
#include "services/core_gateway/http_api.h"
#include "services/signaling/online/token.h"

namespace {

using namespace flare;

struct Api {
  Api() : keys(store, clock, 1'000), api(tokens, &keys, clock, nullptr, Options()) {
    api.Add({.method = "GET",
             .path = "/v1/items/{item}",
             .tag = "items",
             .summary = "reads its parameters",
             .access = kAccessUser | kAccessAdmin | kAccessApiKey,
             .scope = "items:read",
             .handler = [](const std::shared_ptr<ApiCall>& call) {
               auto limit = call->QueryInt("limit", 10, 1, 100);
               if (!limit.ok()) return call->Fail(limit.status());
               call->Reply(200, {{"item", call->Param("item")},
                                 {"q", call->Query("q").value_or("")},
                                 {"limit", *limit}});
             }});
    api.Add({.method = "POST",
             .path = "/v1/items",
             .tag = "items",
             .summary = "echoes a JSON body",
             .access = kAccessUser | kAccessAdmin,
             .handler = [](const std::shared_ptr<ApiCall>& call) {
               auto body = call->JsonBody();
               if (!body.ok()) return call->Fail(body.status());
               call->Reply(201, *body);
             }});
    api.Add({.method = "DELETE",
             .path = "/v1/items/{item}/parts/{part}",
             .tag = "items",
             .summary = "public",
             .access = kAccessPublic,
             .handler = [](const std::shared_ptr<ApiCall>& call) {
               call->Reply(200, {{"part", call->Param("part")}});
             }});
    user = *tokens.Issue({"acme", "alice", "d1", "web"}, clock.NowMs() / 1000, 3600);
    admin = *tokens.IssueAdmin({"*", "ops", 0}, clock.NowMs() / 1000, 3600);
  }

  static HttpApiOptions Options() {
    HttpApiOptions o;
    o.threads = 1;
    o.per_key = {1'000'000, 1'000'000};
    o.per_address = {1'000'000, 1'000'000};
    o.max_body_bytes = 64 * 1024;
    return o;
  }

  ManualClock clock;
  MemorySettingsStore store;
  TokenSigner tokens{"fuzz-http-secret-0123456789abcdef0123"};
  ApiKeys keys;
  HttpApi api;
  std::string user, admin;
};

// Splits off the text up to the next '\n' (without it).
std::string_view NextLine(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

HttpServerRequest ParseInput(std::string_view rest, const Api& api) {
  HttpServerRequest r;
  r.method = std::string(NextLine(rest));
  std::string_view target = NextLine(rest);
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  for (std::string_view line = NextLine(rest); !line.empty(); line = NextLine(rest)) {
    size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::string value(colon == std::string_view::npos ? "" : line.substr(colon + 1));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (value == "Bearer $USER") value = "Bearer " + api.user;
    if (value == "Bearer $ADMIN") value = "Bearer " + api.admin;
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  r.body = std::string(rest);
  r.remote_address = "10.0.0.1";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Api* api = new Api();  // lives for the process: its pool thread too
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto answers = std::make_shared<std::atomic<int>>(0);
  auto promise = std::make_shared<std::promise<int>>();
  auto future = promise->get_future();
  api->api.Handle(ParseInput(input, *api), [answers, promise](HttpServerResponse response) {
    if (answers->fetch_add(1) == 0) promise->set_value(response.status);
  });
  FUZZ_CHECK(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  int status = future.get();
  FUZZ_CHECK(status >= 200 && status <= 599);
  FUZZ_CHECK(answers->load() == 1);
  return 0;
}
