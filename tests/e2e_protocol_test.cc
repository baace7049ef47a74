// Bad frames against a real `flare serve`: each gets an error (or the close
// the protocol demands) and the server keeps serving everyone else.
#include <gtest/gtest.h>

#include "services/signaling/gateway/frame_codec.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::RawConnection;
using testing::ServerProcess;

class E2eProtocol : public ::testing::Test {
 protected:
  E2eProtocol()
      : server_({{"FLARE_GATEWAY_MAX_FRAME_BYTES", "4096"},
                 {"FLARE_GATEWAY_MAX_MESSAGE_BYTES", "1024"}}) {}

  // An authenticated raw connection speaking JSON.
  std::unique_ptr<RawConnection> Authed(const std::string& user) {
    auto raw =
        std::make_unique<RawConnection>(server_.ws_port(), "/ws?token=" + server_.Token(user));
    auto e = raw->Next();
    EXPECT_TRUE(e && !e->closed);
    return raw;
  }

  pb::ServerFrame NextFrame(RawConnection& raw) {
    auto e = raw.Next();
    EXPECT_TRUE(e.has_value());
    if (!e || e->closed) return {};
    auto f = DecodeServerFrame(e->data, e->binary ? Encoding::kBinary : Encoding::kJson);
    EXPECT_TRUE(f.ok()) << e->data;
    return f.ok() ? *f : pb::ServerFrame();
  }

  // The connection still answers a ping with its request id.
  void ExpectAlive(RawConnection& raw) {
    raw.Send(R"({"requestId":"p1","ping":{"clientTimeMs":"5"}})", false);
    pb::ServerFrame pong = NextFrame(raw);
    EXPECT_TRUE(pong.has_pong());
    EXPECT_EQ(pong.request_id(), "p1");
    EXPECT_EQ(pong.pong().client_time_ms(), 5);
  }

  ServerProcess server_;
};

TEST_F(E2eProtocol, MalformedFramesGetBadFrameAndTheConnectionLives) {
  auto raw = Authed("alice");
  raw->Send(std::string("\xff\xff\xff\x01garbage", 11), true);
  EXPECT_EQ(NextFrame(*raw).error().code(), pb::ERROR_CODE_BAD_FRAME);
  raw->Send("{not json", false);
  EXPECT_EQ(NextFrame(*raw).error().code(), pb::ERROR_CODE_BAD_FRAME);
  raw->Send("", true);
  EXPECT_EQ(NextFrame(*raw).error().code(), pb::ERROR_CODE_BAD_FRAME);
  ExpectAlive(*raw);
}

TEST_F(E2eProtocol, UnknownFrameTypesGetBadFrame) {
  auto raw = Authed("alice");
  raw->Send(R"({"requestId":"u1","teleport":{"to":"mars"}})", false);
  pb::ServerFrame reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_BAD_FRAME);
  EXPECT_EQ(reply.request_id(), "u1");
  // Field 99 (varint) is not a frame type the server knows.
  raw->Send(std::string("\x0a\x02u2\x98\x06\x01", 7), true);
  reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_BAD_FRAME);
  EXPECT_EQ(reply.request_id(), "u2");
  ExpectAlive(*raw);
}

TEST_F(E2eProtocol, OversizeFrameClosesWithMessageTooBig) {
  auto raw = Authed("alice");
  raw->Send(std::string(10'000, 'x'), true);
  auto e = raw->Next();
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->closed);
  EXPECT_EQ(e->close_code, 1009);
}

TEST_F(E2eProtocol, InvalidSendsGetClearErrors) {
  auto raw = Authed("alice");
  raw->Send(R"({"requestId":"s1","send":{"peerUserId":"bob","content":{"text":"x"}}})", false);
  pb::ServerFrame reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);
  EXPECT_NE(reply.error().message().find("client_msg_id"), std::string::npos);

  std::string big(2000, 'y');
  raw->Send(
      R"({"requestId":"s2","send":{"peerUserId":"bob","clientMsgId":"c2","content":{"text":")" +
          big + R"("}}})",
      false);
  reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_MESSAGE_TOO_LARGE);
  EXPECT_EQ(reply.request_id(), "s2");

  raw->Send(R"({"requestId":"s3","send":{"peerUserId":"b:o:b","clientMsgId":"c3"}})", false);
  EXPECT_EQ(NextFrame(*raw).error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);

  raw->Send(R"({"requestId":"s4","auth":{"token":"x"}})", false);
  EXPECT_EQ(NextFrame(*raw).error().code(), pb::ERROR_CODE_ALREADY_AUTHENTICATED);
  ExpectAlive(*raw);
}

TEST_F(E2eProtocol, OtherClientsKeepWorkingWhileOneMisbehaves) {
  FlareClient alice(server_.Options("alice")), bob(server_.Options("bob"));
  Inbox inbox(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  auto bad = Authed("mallory");
  for (int i = 0; i < 50; ++i) bad->Send("\x01\x02garbage", true);
  bad->Send(std::string(10'000, 'z'), true);
  auto ack = alice.SendText("bob", "still here");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(inbox.WaitFor(1)[0].content().text(), "still here");
}

TEST_F(E2eProtocol, OnlyTheWebSocketPathUpgrades) {
  RawConnection wrong(server_.ws_port(), "/elsewhere");
  EXPECT_FALSE(wrong.connected());
}

}  // namespace
}  // namespace flare
