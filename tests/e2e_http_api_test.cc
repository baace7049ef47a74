// The core-gateway's REST API against a real `flare serve`: every documented
// route answers, a business server's whole flow (keys, tokens, sends,
// history, groups, presence, revocation), tenant scope, limits, and the
// `flare apikey` command.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include "services/signaling/online/token.h"
#include "support/inbox.h"
#include "support/server_process.h"
#include "support/test_png.h"

namespace flare {
namespace {

using nlohmann::json;
using testing::Inbox;
using testing::ServerProcess;

std::string AdminToken(const std::string& tenant = "*") {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return *TokenSigner(testing::kTestSecret).IssueAdmin({tenant, "test", 0}, now, 600);
}

struct Reply {
  long status = 0;
  json body;
};

Reply Call(const ServerProcess& server, const std::string& method, const std::string& path,
           const json& body, const std::string& bearer) {
  Reply r;
  std::string text =
      server.Http(method, path, body.is_null() ? std::string() : body.dump(), &r.status, bearer);
  r.body = json::parse(text, nullptr, false);
  return r;
}

void ExpectErrorShape(const Reply& r) {
  ASSERT_TRUE(r.body.is_object()) << r.status;
  ASSERT_TRUE(r.body.contains("error")) << r.body.dump();
  EXPECT_TRUE(r.body["error"]["code"].is_string());
  EXPECT_TRUE(r.body["error"]["message"].is_string());
  EXPECT_FALSE(r.body["error"]["request_id"].get<std::string>().empty());
}

TEST(E2eHttpApi, EveryDocumentedRouteAnswersAndOthersDoNot) {
  ServerProcess server;
  long status = 0;
  json doc = json::parse(server.HttpGet("/openapi.json", &status));
  ASSERT_EQ(status, 200);
  ASSERT_GT(doc["paths"].size(), 20u);
  std::string admin = AdminToken();
  for (const auto& [path, ops] : doc["paths"].items()) {
    std::string concrete = std::regex_replace(path, std::regex("\\{[a-z_]+\\}"), "x1");
    for (const auto& [method, op] : ops.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      Reply r = Call(server, upper, concrete, json(), admin);
      SCOPED_TRACE(upper + " " + concrete + " -> " + std::to_string(r.status) + " " +
                   r.body.dump());
      EXPECT_NE(r.status, 405);
      EXPECT_TRUE(r.body.is_object() || r.status == 200);  // /v1/admin/metrics is text
      if (r.status >= 400) {
        ExpectErrorShape(r);
        EXPECT_NE(r.body["error"]["code"], "no_route");
      }
    }
  }
  Reply missing = Call(server, "GET", "/v1/not-a-route", json(), admin);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["error"]["code"], "no_route");
  Reply wrong = Call(server, "PATCH", "/v1/messages", json::object(), admin);
  EXPECT_EQ(wrong.status, 405);
}

TEST(E2eHttpApi, ABusinessServerSendsReadsAndManagesThroughTheApi) {
  ServerProcess server;
  std::string admin = AdminToken();
  Reply key = Call(server, "POST", "/v1/admin/apikeys?tenant=acme",
                   {{"tenant", "acme"}, {"scopes", {"*"}}}, admin);
  ASSERT_EQ(key.status, 201) << key.body.dump();
  std::string api_key = key.body["key"];

  // A client token from the API logs bob in over WebSocket.
  Reply token = Call(server, "POST", "/v1/users/bob/tokens", {{"device", "phone"}}, api_key);
  ASSERT_EQ(token.status, 200) << token.body.dump();
  ClientOptions options = server.Options("bob", "phone", "acme");
  options.token = token.body["token"];
  FlareClient bob(options);
  Inbox inbox(bob);
  ASSERT_TRUE(bob.Connect().ok());

  // A send as alice is answered once stored, and pushed to bob.
  Reply sent = Call(server, "POST", "/v1/messages",
                    {{"sender", "alice"},
                     {"peer_user_id", "bob"},
                     {"client_msg_id", "order-1"},
                     {"content", {{"text", "your order shipped"}}}},
                    api_key);
  ASSERT_EQ(sent.status, 200) << sent.body.dump();
  EXPECT_EQ(sent.body["seq"], 1);
  EXPECT_FALSE(sent.body["duplicate"]);
  std::string conversation = sent.body["conversation_id"];
  auto pushed = inbox.WaitFor(1);
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].content().text(), "your order shipped");
  EXPECT_EQ(pushed[0].sender(), "alice");
  // The same client_msg_id again: one stored message.
  Reply again = Call(server, "POST", "/v1/messages",
                     {{"sender", "alice"},
                      {"peer_user_id", "bob"},
                      {"client_msg_id", "order-1"},
                      {"content", {{"text", "your order shipped"}}}},
                     api_key);
  EXPECT_TRUE(again.body["duplicate"]);
  EXPECT_EQ(again.body["seq"], 1);

  // A system notification; clients could not send one.
  Reply notice = Call(server, "POST", "/v1/messages",
                      {{"system", true},
                       {"peer_user_id", "bob"},
                       {"client_msg_id", "notice-1"},
                       {"type", "MESSAGE_TYPE_NOTIFICATION"},
                       {"content", {{"text", "maintenance at 2am"}}}},
                      api_key);
  ASSERT_EQ(notice.status, 200) << notice.body.dump();
  ASSERT_EQ(inbox.WaitFor(2).size(), 2u);

  // A send without client_msg_id could not be retried safely: refused.
  Reply unkeyed =
      Call(server, "POST", "/v1/messages",
           {{"sender", "alice"}, {"peer_user_id", "bob"}, {"content", {{"text", "x"}}}}, api_key);
  EXPECT_EQ(unkeyed.status, 400);
  // History by seq and by time, as bob.
  Reply history = Call(server, "GET", "/v1/conversations/" + conversation + "/messages?user=bob",
                       json(), api_key);
  ASSERT_EQ(history.status, 200) << history.body.dump();
  ASSERT_EQ(history.body["messages"].size(), 1u);
  EXPECT_EQ(history.body["messages"][0]["content"]["text"], "your order shipped");
  int64_t stored_at = sent.body["server_time_ms"];
  Reply later = Call(server, "GET",
                     "/v1/conversations/" + conversation +
                         "/messages?user=bob&since_ms=" + std::to_string(stored_at + 1),
                     json(), api_key);
  ASSERT_EQ(later.status, 200) << later.body.dump();
  EXPECT_EQ(later.body["messages"].size(), 0u);
  Reply window = Call(server, "GET",
                      "/v1/conversations/" + conversation + "/messages?user=bob&since_ms=" +
                          std::to_string(stored_at) + "&until_ms=" + std::to_string(stored_at),
                      json(), api_key);
  ASSERT_EQ(window.body["messages"].size(), 1u);
  // Search as bob finds the message; as a user outside the conversation, nothing.
  Reply found = Call(server, "GET", "/v1/search?user=bob&q=shipped", json(), api_key);
  ASSERT_EQ(found.status, 200) << found.body.dump();
  ASSERT_EQ(found.body["messages"].size(), 1u);
  EXPECT_EQ(found.body["messages"][0]["content"]["text"], "your order shipped");
  Reply elsewhere = Call(server, "GET", "/v1/search?user=eve&q=shipped", json(), api_key);
  ASSERT_EQ(elsewhere.status, 200);
  EXPECT_EQ(elsewhere.body["messages"].size(), 0u);
  Reply blank = Call(server, "GET", "/v1/search?user=bob&q=", json(), api_key);
  EXPECT_EQ(blank.status, 400);
  // Not a member: nothing to read.
  Reply outsider = Call(server, "GET", "/v1/conversations/" + conversation + "/messages?user=eve",
                        json(), api_key);
  EXPECT_GE(outsider.status, 400);
  ExpectErrorShape(outsider);

  // Groups.
  Reply group = Call(
      server, "POST", "/v1/groups",
      {{"actor", "alice"}, {"settings", {{"name", "Team"}}}, {"member_ids", {"bob"}}}, api_key);
  ASSERT_EQ(group.status, 201) << group.body.dump();
  std::string group_id = group.body["group"]["conversationId"];
  Reply added = Call(server, "POST", "/v1/groups/" + group_id + "/members",
                     {{"actor", "alice"}, {"user_ids", {"carol"}}}, api_key);
  ASSERT_EQ(added.status, 200) << added.body.dump();
  Reply members =
      Call(server, "GET", "/v1/conversations/" + group_id + "/members?user=bob", json(), api_key);
  ASSERT_EQ(members.status, 200) << members.body.dump();
  EXPECT_EQ(members.body["member_count"], 3);

  // Presence and revocation.
  Reply presence = Call(server, "GET", "/v1/presence?users=bob,alice", json(), api_key);
  ASSERT_EQ(presence.status, 200);
  EXPECT_EQ(presence.body["statuses"][0]["online"], true);
  EXPECT_FALSE(presence.body["statuses"][1].value("online", false));
  Reply revoked = Call(server, "DELETE", "/v1/users/bob/sessions", json(), api_key);
  ASSERT_EQ(revoked.status, 200);
  EXPECT_EQ(revoked.body["sessions_closed"], 1);

  // The server's metrics are for an admin of every tenant only.
  Reply metrics = Call(server, "GET", "/v1/admin/metrics", json(), AdminToken("acme"));
  EXPECT_EQ(metrics.status, 403);
  // Another tenant's key sees none of it.
  Reply other =
      Call(server, "POST", "/v1/admin/apikeys", {{"tenant", "globex"}, {"scopes", {"*"}}}, admin);
  ASSERT_EQ(other.status, 201);
  // (The 1:1 conversation's id names both users, so it exists in every
  // tenant; in globex it is empty.)
  Reply foreign = Call(server, "GET", "/v1/conversations/" + conversation + "/messages?user=bob",
                       json(), other.body["key"]);
  ASSERT_EQ(foreign.status, 200) << foreign.body.dump();
  EXPECT_EQ(foreign.body["messages"].size(), 0u);
  Reply foreign_group =
      Call(server, "GET", "/v1/groups/" + group_id + "?user=bob", json(), other.body["key"]);
  EXPECT_GE(foreign_group.status, 400);
  Reply foreign_list =
      Call(server, "GET", "/v1/users/bob/conversations", json(), other.body["key"]);
  ASSERT_EQ(foreign_list.status, 200);
  EXPECT_FALSE(foreign_list.body.contains("conversations"));
}

TEST(E2eHttpApi, LimitsAnswer429WithRetryAfterAnd413) {
  ServerProcess server({{"FLARE_HTTP_API_ADDRESS_RATE_PER_S", "1"},
                        {"FLARE_HTTP_API_ADDRESS_BURST", "2"},
                        {"FLARE_HTTP_API_MAX_BODY_BYTES", "1024"}});
  std::string admin = AdminToken();
  long status = 0;
  std::string large = json({{"sender", std::string(4096, 'a')}}).dump();
  std::string body = server.Http("POST", "/v1/messages", large, &status, admin);
  EXPECT_EQ(status, 413);
  EXPECT_NE(body.find("payload_too_large"), std::string::npos);

  std::vector<std::string> headers;
  server.Http("GET", "/v1/admin/online", "", &status, admin);
  body = server.Http("GET", "/v1/admin/online", "", &status, admin, &headers);
  EXPECT_EQ(status, 429);
  EXPECT_NE(body.find("rate_limited"), std::string::npos);
  bool retry_after = false;
  for (const auto& h : headers) retry_after = retry_after || h.rfind("Retry-After: ", 0) == 0;
  EXPECT_TRUE(retry_after);
}

TEST(E2eHttpApi, MediaUploadThumbnailRangesPresignedUrlsAndMultipart) {
  ServerProcess server;
  std::string alice = server.Token("alice");
  long status = 0;
  std::string png = testing::MakePng(640, 480);
  json info = json::parse(server.Http("POST", "/v1/media", png, &status, alice));
  ASSERT_EQ(status, 201) << info.dump();
  EXPECT_EQ(info["mime_type"], "image/png");
  EXPECT_EQ(info["width"], 640);
  EXPECT_EQ(info["size_bytes"], png.size());
  std::string url = info["url"];
  ASSERT_TRUE(info.contains("thumbnail_url"));
  // The same bytes again: the same media.
  json again = json::parse(server.Http("POST", "/v1/media", png, &status, alice));
  EXPECT_EQ(again["media_id"], info["media_id"]);

  // Whole, ranged, and the thumbnail (a smaller PNG).
  EXPECT_EQ(server.Http("GET", url, "", &status, alice), png);
  EXPECT_EQ(status, 200);
  std::vector<std::string> headers;
  std::string whole = server.Http("GET", url + "?access_token=" + alice, "", &status);
  EXPECT_EQ(whole, png);
  std::string thumb = server.Http("GET", url + "/thumbnail", "", &status, alice);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(thumb.substr(1, 3), "PNG");
  EXPECT_LT(thumb.size(), png.size());

  // Without credentials: refused; with a presigned URL: served until it expires.
  server.Http("GET", url, "", &status);
  EXPECT_EQ(status, 401);
  json presigned =
      json::parse(server.Http("POST", url + "/presign", "{\"ttl_s\":60}", &status, alice));
  ASSERT_EQ(status, 200) << presigned.dump();
  EXPECT_EQ(server.Http("GET", presigned["url"], "", &status), png);
  EXPECT_EQ(status, 200);
  std::string tampered = presigned["url"].get<std::string>();
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  server.Http("GET", tampered, "", &status);
  EXPECT_EQ(status, 403);

  // An executable is refused: its sniffed type is not among media.allowed_types.
  std::string elf = std::string(
                        "\x7f"
                        "ELF\x02\x01\x01",
                        7) +
                    std::string(64, '\0');
  json refused = json::parse(server.Http("POST", "/v1/media", elf, &status, alice));
  EXPECT_EQ(status, 415) << refused.dump();

  // Multipart: parts out of order, one sent twice.
  json upload = json::parse(server.Http("POST", "/v1/media/uploads", "", &status, alice));
  ASSERT_EQ(status, 201) << upload.dump();
  std::string id = upload["upload_id"];
  std::string part1 = png.substr(0, png.size() / 2), part2 = png.substr(png.size() / 2);
  server.Http("PUT", "/v1/media/uploads/" + id + "?part_number=2", part2, &status, alice);
  EXPECT_EQ(status, 200);
  server.Http("PUT", "/v1/media/uploads/" + id + "?part_number=1", part1, &status, alice);
  server.Http("PUT", "/v1/media/uploads/" + id + "?part_number=1", part1, &status, alice);
  EXPECT_EQ(status, 200);
  json joined =
      json::parse(server.Http("POST", "/v1/media/uploads/" + id + "/complete", "", &status, alice));
  ASSERT_EQ(status, 201) << joined.dump();
  EXPECT_EQ(joined["sha256"], info["sha256"]);
}

TEST(E2eHttpApi, RangeRequestsGet206AndUnsatisfiableOnesGet416) {
  ServerProcess server;
  std::string alice = server.Token("alice");
  long status = 0;
  std::string text(1000, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  json info = json::parse(server.Http("POST", "/v1/media", text, &status, alice));
  ASSERT_EQ(status, 201) << info.dump();
  EXPECT_EQ(info["mime_type"], "text/plain");
  std::string url = info["url"];
  EXPECT_EQ(server.HttpRange(url, "bytes=10-19", &status, alice), text.substr(10, 10));
  EXPECT_EQ(status, 206);
  EXPECT_EQ(server.HttpRange(url, "bytes=990-", &status, alice), text.substr(990));
  EXPECT_EQ(server.HttpRange(url, "bytes=-5", &status, alice), text.substr(995));
  server.HttpRange(url, "bytes=5000-6000", &status, alice);
  EXPECT_EQ(status, 416);
}

std::string RunFlare(const std::string& args) {
  std::string out;
  FILE* p = ::popen((std::string(FLARE_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char chunk[512];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, p)) > 0) out.append(chunk, n);
  ::pclose(p);
  return out;
}

TEST(E2eHttpApi, KeysMadeAndRevokedWithTheCliWorkOnTheRunningServer) {
  ServerProcess server({{"FLARE_HTTP_API_KEYS_RELOAD_INTERVAL_MS", "50"}});
  std::string made = RunFlare("apikey create --data-dir " + server.data_dir() +
                              " --tenant acme --scope messages:read,presence");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(made, m, std::regex("id: +([0-9a-f]+)[\\s\\S]*key: +(flk_\\S+)")))
      << made;
  std::string id = m[1], key = m[2];
  long status = 0;
  server.Http("GET", "/v1/presence?users=alice", "", &status, key);
  EXPECT_EQ(status, 200);
  server.Http("POST", "/v1/users/alice/tokens", "{}", &status, key);
  EXPECT_EQ(status, 403);  // no "tokens" scope
  EXPECT_NE(RunFlare("apikey list --data-dir " + server.data_dir()).find(id), std::string::npos);
  EXPECT_NE(
      RunFlare("apikey revoke --data-dir " + server.data_dir() + " --id " + id).find("revoked"),
      std::string::npos);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Revocations reach a running server within keys_reload_interval_ms.
  while (true) {
    server.Http("GET", "/v1/presence?users=alice", "", &status, key);
    if (status == 401 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll, do not spin
  }
  EXPECT_EQ(status, 401);
}

}  // namespace
}  // namespace flare
