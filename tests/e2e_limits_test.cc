// Per-user rate limits and connection limits against a real `flare serve`.
#include <gtest/gtest.h>

#include <thread>

#include "services/signaling/gateway/frame_codec.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::RawConnection;
using testing::ServerProcess;

// Every server frame that arrives within `timeout_ms`, batches unpacked,
// until `want` frames with a request id have come (or the connection closed).
std::vector<pb::ServerFrame> Replies(RawConnection& raw, size_t want, int64_t timeout_ms = 5000) {
  std::vector<pb::ServerFrame> out;
  size_t replies = 0;
  while (replies < want) {
    auto e = raw.Next(timeout_ms);
    if (!e || e->closed) break;
    auto f = DecodeServerFrame(e->data, e->binary ? Encoding::kBinary : Encoding::kJson);
    EXPECT_TRUE(f.ok()) << e->data;
    if (!f.ok()) break;
    std::vector<pb::ServerFrame> frames;
    if (f->batch_size() > 0) {
      frames.assign(f->batch().begin(), f->batch().end());
    } else {
      frames.push_back(*f);
    }
    for (auto& one : frames) {
      if (!one.request_id().empty()) ++replies;
      out.push_back(std::move(one));
    }
  }
  return out;
}

const pb::ServerFrame* ReplyTo(const std::vector<pb::ServerFrame>& frames, const std::string& id) {
  for (const auto& f : frames) {
    if (f.request_id() == id) return &f;
  }
  return nullptr;
}

std::string SendFrame(const std::string& request_id) {
  return R"({"requestId":")" + request_id + R"(","send":{"peerUserId":"bob","clientMsgId":")" +
         request_id + R"(","content":{"text":"hi"}}})";
}

std::unique_ptr<RawConnection> Authed(const ServerProcess& server, const std::string& user,
                                      const std::string& device = "d1") {
  auto raw =
      std::make_unique<RawConnection>(server.ws_port(), "/ws?token=" + server.Token(user, device));
  auto e = raw->Next();
  EXPECT_TRUE(e && !e->closed);
  return raw;
}

TEST(E2eLimits, FloodedSendsGetRateLimitedWithRetryAfterThenSucceed) {
  ServerProcess server({{"FLARE_LIMITS_SEND_PER_SECOND", "4"}, {"FLARE_LIMITS_SEND_BURST", "2"}});
  auto raw = Authed(server, "alice");
  for (const char* id : {"s1", "s2", "s3", "s4"}) raw->Send(SendFrame(id), false);
  auto frames = Replies(*raw, 4);
  int acked = 0, limited = 0;
  int64_t retry_after = 0;
  for (const char* id : {"s1", "s2", "s3", "s4"}) {
    const pb::ServerFrame* f = ReplyTo(frames, id);
    ASSERT_NE(f, nullptr) << id;
    if (f->has_send_ack()) ++acked;
    if (f->has_error()) {
      EXPECT_EQ(f->error().code(), pb::ERROR_CODE_RATE_LIMITED) << f->error().message();
      retry_after = std::max(retry_after, f->error().retry_after_ms());
      ++limited;
    }
  }
  // The burst of 2 goes through; the rest are refused unless a token came
  // back meanwhile (one per 250 ms).
  EXPECT_GE(acked, 2);
  EXPECT_GE(limited, 1);
  EXPECT_EQ(acked + limited, 4);
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 250);
  // Waiting as long as the server said is enough.
  std::this_thread::sleep_for(std::chrono::milliseconds(retry_after));
  raw->Send(SendFrame("s5"), false);
  frames = Replies(*raw, 1);
  const pb::ServerFrame* f = ReplyTo(frames, "s5");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->has_send_ack()) << f->DebugString();
}

TEST(E2eLimits, AuthBeyondTheUsersConnectionLimitIsRefusedAndClosed) {
  ServerProcess server({{"FLARE_GATEWAY_MAX_CONNECTIONS_PER_USER", "2"}});
  auto first = Authed(server, "alice", "d1");
  auto second = Authed(server, "alice", "d2");
  RawConnection third(server.ws_port());
  ASSERT_TRUE(third.connected());
  third.Send(R"({"requestId":"a1","auth":{"token":")" + server.Token("alice", "d3") + R"("}})",
             false);
  auto frames = Replies(third, 1);
  const pb::ServerFrame* f = ReplyTo(frames, "a1");
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->has_error());
  EXPECT_EQ(f->error().code(), pb::ERROR_CODE_RATE_LIMITED);
  EXPECT_NE(f->error().message().find("too many connections"), std::string::npos);
  auto closed = third.Next();
  ASSERT_TRUE(closed && closed->closed);
  EXPECT_EQ(closed->close_code, 4005);
  // Another user is not affected; and once alice closes one, she may connect again.
  Authed(server, "bob");
  first.reset();
  bool admitted = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!admitted && std::chrono::steady_clock::now() < deadline) {  // the close is asynchronous
    RawConnection again(server.ws_port(), "/ws?token=" + server.Token("alice", "d4"));
    auto e = again.Next();
    if (!e || e->closed) continue;
    auto f = DecodeServerFrame(e->data, e->binary ? Encoding::kBinary : Encoding::kJson);
    admitted = f.ok() && f->has_auth_result();
  }
  EXPECT_TRUE(admitted);
}

TEST(E2eLimits, UnauthenticatedConnectionsPerAddressAreCapped) {
  ServerProcess server({{"FLARE_GATEWAY_MAX_UNAUTHENTICATED_PER_ADDRESS", "2"}});
  RawConnection a(server.ws_port()), b(server.ws_port());
  ASSERT_TRUE(a.connected() && b.connected());
  // Both are counted once the server answers them.
  a.Send(R"({"requestId":"p","ping":{}})", false);
  b.Send(R"({"requestId":"p","ping":{}})", false);
  ASSERT_EQ(Replies(a, 1).size(), 1u);
  ASSERT_EQ(Replies(b, 1).size(), 1u);
  RawConnection c(server.ws_port());
  auto closed = c.Next();
  ASSERT_TRUE(closed && closed->closed);
  EXPECT_EQ(closed->close_code, 4006);
  // Authenticating frees the slot; a connection with a handshake token never takes one.
  a.Send(R"({"requestId":"a1","auth":{"token":")" + server.Token("alice") + R"("}})", false);
  const auto frames = Replies(a, 1);
  ASSERT_NE(ReplyTo(frames, "a1"), nullptr);
  EXPECT_TRUE(ReplyTo(frames, "a1")->has_auth_result());
  RawConnection d(server.ws_port());
  d.Send(R"({"requestId":"p","ping":{}})", false);
  auto pong = Replies(d, 1);
  ASSERT_EQ(pong.size(), 1u);
  EXPECT_TRUE(pong[0].has_pong());
  Authed(server, "bob");
}

}  // namespace
}  // namespace flare
