// Abuse of a real `flare serve` in one run: half-sent handshakes held open
// (those past the per-address limit closed at once),
// bad tokens of every kind, malformed and hostile frames, and a client that
// never reads while messages pour in. Each gets a clear error or close,
// honest clients keep working throughout, and afterwards the server is
// healthy with its memory back within 10% of before.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_ws_client.h"
#include "services/signaling/online/token.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::RawWsClient;
using testing::ServerProcess;

int64_t RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// The close code the server ends with, skipping the frames before it
// (-1: the stream ended or stalled without a close frame).
int CloseCodeAfterFrames(RawWsClient& c, int max_frames = 100) {
  for (int i = 0; i < max_frames; ++i) {
    auto f = c.ReadFrame();
    if (!f) return -1;
    if (f->opcode != 0x8) continue;
    if (f->payload.size() < 2) return 0;
    return (static_cast<uint8_t>(f->payload[0]) << 8) | static_cast<uint8_t>(f->payload[1]);
  }
  return -1;
}

// True when a ping with this request id is answered (the connection lives).
bool Answers(RawWsClient& c, const std::string& request_id) {
  if (!c.Send(0x1, R"({"requestId":")" + request_id + R"(","ping":{}})")) return false;
  for (int i = 0; i < 100; ++i) {
    auto f = c.ReadFrame();
    if (!f || f->opcode == 0x8) return false;
    if (f->payload.find(request_id) != std::string::npos) return true;
  }
  return false;
}

// Reads the server's frames until the answer to a login by handshake token
// (an auth_result); false on a close or anything else first. A ping is
// answered before the login has run, so it does not show the user is in.
bool LoggedIn(RawWsClient& c) {
  for (int i = 0; i < 100; ++i) {
    auto f = c.ReadFrame();
    if (!f || f->opcode == 0x8) return false;
    pb::ServerFrame frame;
    if (f->opcode != 0x2 || !frame.ParseFromString(f->payload)) continue;
    if (frame.has_auth_result()) return true;
    if (frame.has_error()) return false;
  }
  return false;
}

// Whether an upgrade from this address goes through within 5 s (the
// server gives a closed connection's slot back when it notices the close).
bool UpgradesAgain(ServerProcess& server) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    RawWsClient c(server.ws_port(), "127.0.0.1");
    if (c.Open("/ws?token=" + server.Token("frank"))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, not ordering
  }
  return false;
}

// An honest user still gets through.
void ExpectHonestClientWorks(ServerProcess& server, const std::string& text) {
  FlareClient carol(server.Options("carol"));
  ASSERT_TRUE(carol.Connect().ok());
  auto ack = carol.SendText("dave", text);
  EXPECT_TRUE(ack.ok()) << ack.status().ToString();
}

TEST(E2eAbuse, ClearErrorsHealthyServerAndMemoryGivenBack) {
  // Few unacked pushes allowed, so the client that never reads is cut off
  // soon (without storing megabytes, which would grow SQLite's page cache).
  ServerProcess server({{"FLARE_GATEWAY_MAX_UNACKED_PUSHES", "100"}});
  ExpectHonestClientWorks(server, "warm-up");
  const int64_t before = RssKiB(server.pid());
  ASSERT_GT(before, 0);

  // Half-sent upgrade requests from one address, held open: past
  // gateway.max_unauthenticated_per_address (64) the server closes them as
  // they are accepted. A client from another address is served meanwhile,
  // and once they are gone this address is served again.
  std::vector<std::unique_ptr<RawWsClient>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawWsClient>(server.ws_port(), "127.0.0.1"));
    slow.back()->WriteRaw("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n");
  }
  EXPECT_TRUE(slow.back()->ClosedByServer()) << "the 200th half-sent upgrade was kept open";
  {
    RawWsClient elsewhere(server.ws_port(), "127.0.0.2");
    ASSERT_TRUE(elsewhere.Open("/ws?token=" + server.Token("erin")));
    EXPECT_TRUE(LoggedIn(elsewhere));
  }
  slow.clear();
  EXPECT_TRUE(UpgradesAgain(server)) << "the closed half-upgrades kept their slots";
  ExpectHonestClientWorks(server, "after the half-sent upgrades");

  // Tokens: expired, forged, unsigned, garbage: each closed with 4001.
  std::string valid = server.Token("mallory");
  std::string forged = valid;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (const std::string& token :
       {server.Token("mallory", "d1", -60), forged,
        std::string("eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJkZWZhdWx0Iiwic3ViIjoibWFsbG9yeSJ9."),
        std::string("not-a-token")}) {
    RawWsClient c(server.ws_port());
    ASSERT_TRUE(c.Open("/ws?token=" + token));
    EXPECT_EQ(CloseCodeAfterFrames(c), 4001) << token;
  }

  // Hostile frames on an authenticated connection: errors, and it lives.
  {
    RawWsClient c(server.ws_port());
    ASSERT_TRUE(c.Open("/ws?token=" + valid));
    ASSERT_TRUE(Answers(c, "p0"));
    c.Send(0x1, R"({"requestId":"n","unheardOf":)" + std::string(20'000, '[') +
                    std::string(20'000, ']') + "}");  // deeply nested JSON
    EXPECT_TRUE(Answers(c, "p1"));
    c.Send(0x1, R"({"requestId":"x","unheardOf":{"a":1}})");  // an unknown frame type
    EXPECT_TRUE(Answers(c, "p2"));
    c.Send(0x2, std::string("\x0a\x02r1\xfa\x01\x03\xff\xff\xff", 10));  // broken protobuf
    EXPECT_TRUE(Answers(c, "p3"));
    c.Send(0x1, R"({"requestId":"s","send":{"peerUserId":"mallory","clientMsgId":"m",)"
                R"("content":{"text":")" + std::string(100'000, 'x') + R"("}}})");  // oversize
    EXPECT_EQ(CloseCodeAfterFrames(c), 1009);
  }
  {
    RawWsClient c(server.ws_port());
    ASSERT_TRUE(c.Open("/ws?token=" + valid));
    c.Send(0x1, "\xc3\x28 invalid UTF-8");
    EXPECT_EQ(CloseCodeAfterFrames(c), 1007);
  }

  // A client that never reads while messages pour in is closed as slow.
  {
    RawWsClient sink(server.ws_port());
    ASSERT_TRUE(sink.Open("/ws?token=" + server.Token("sink")));
    FlareClient sender(server.Options("sender"));
    ASSERT_TRUE(sender.Connect().ok());
    for (int i = 0; i < 150; ++i) ASSERT_TRUE(sender.SendText("sink", "unread").ok());
    EXPECT_EQ(CloseCodeAfterFrames(sink, 1'000), 1008) << "not closed as a slow consumer";
  }
  ExpectHonestClientWorks(server, "after the abuse");

  // Enumeration: a conversation that exists and one that does not, a user
  // who exists and one who does not, all look the same to an outsider.
  {
    FlareClient mallory(server.Options("mallory"));
    ASSERT_TRUE(mallory.Connect().ok());
    auto real = mallory.Sync("single:carol:dave", 0, 10);  // carol wrote to dave above
    auto made_up = mallory.Sync("single:nobody:noone", 0, 10);
    ASSERT_FALSE(real.ok());
    ASSERT_FALSE(made_up.ok());
    EXPECT_EQ(real.status().code(), made_up.status().code());
    auto presence = [&](const std::string& user) {
      pb::ClientFrame f;
      f.mutable_presence()->add_query(user);
      auto answer = mallory.Call(f);
      return answer.ok() && answer->has_error() ? answer->error().code() : pb::ErrorCode{};
    };
    EXPECT_EQ(presence("carol"), presence("no-such-user"));
    EXPECT_NE(presence("carol"), pb::ErrorCode{}) << "presence of a stranger was answered";
  }

  long status = 0;
  server.HttpGet("/healthz", &status);
  EXPECT_EQ(status, 200);
  const int64_t after = RssKiB(server.pid());
  EXPECT_LE(after, before + before / 10) << "RSS before " << before << " KiB, after " << after;
  std::printf("abuse: server RSS %lld KiB before, %lld KiB after\n",
              static_cast<long long>(before), static_cast<long long>(after));
  EXPECT_EQ(server.Terminate(), 0);
}

// A token copied from a device whose sessions were revoked
// (DELETE /v1/users/{user}/sessions) is refused when replayed, over
// WebSocket and over the HTTP API; a token issued afterwards logs in, and
// other users' tokens are untouched.
TEST(E2eAbuse, ATokenReplayedAfterItsSessionsWereRevokedIsRefused) {
  ServerProcess server;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto issued_earlier = [&](const std::string& user) {
    return *TokenSigner(testing::kTestSecret)
                .Issue({"default", user, "d1", "test", 0}, now - 5, 3600);
  };
  const std::string bob_old = issued_earlier("bob"), alice_old = issued_earlier("alice");
  auto open = std::make_unique<RawWsClient>(server.ws_port());
  ASSERT_TRUE(open->Open("/ws?token=" + bob_old));
  ASSERT_TRUE(LoggedIn(*open));

  const std::string admin =
      *TokenSigner(testing::kTestSecret).IssueAdmin({"default", "test", 0}, now, 600);
  long status = 0;
  auto revoked = nlohmann::json::parse(
      server.Http("DELETE", "/v1/users/bob/sessions", "", &status, admin), nullptr, false);
  ASSERT_EQ(status, 200) << revoked.dump();
  EXPECT_EQ(revoked["sessions_closed"], 1);
  EXPECT_GE(revoked["tokens_issued_before_ms"].get<int64_t>(), now * 1000);
  EXPECT_NE(CloseCodeAfterFrames(*open), -1) << "the open session was not closed";
  open.reset();
  {
    RawWsClient replayed(server.ws_port());
    ASSERT_TRUE(replayed.Open("/ws?token=" + bob_old));
    EXPECT_EQ(CloseCodeAfterFrames(replayed), 4001);
  }
  server.Http("GET", "/v1/users/bob/conversations", "", &status, bob_old);
  EXPECT_EQ(status, 401);

  auto issued = nlohmann::json::parse(
      server.Http("POST", "/v1/users/bob/tokens", R"({"device":"d1"})", &status, admin), nullptr,
      false);
  ASSERT_EQ(status, 200) << issued.dump();
  {
    RawWsClient fresh(server.ws_port());
    ASSERT_TRUE(fresh.Open("/ws?token=" + issued["token"].get<std::string>()));
    EXPECT_TRUE(LoggedIn(fresh));
    RawWsClient alice(server.ws_port());
    ASSERT_TRUE(alice.Open("/ws?token=" + alice_old));
    EXPECT_TRUE(LoggedIn(alice));
  }
  EXPECT_EQ(server.Terminate(), 0);
}

}  // namespace
}  // namespace flare
