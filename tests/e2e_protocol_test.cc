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

// Adds an unknown varint field (number 99) to `m`, as a newer client might.
void AddUnknownField(google::protobuf::Message& m) {
  m.GetReflection()->MutableUnknownFields(&m)->AddVarint(99, 7);
}

bool HasUnknownFields(const google::protobuf::Message& m) {
  return !m.GetReflection()->GetUnknownFields(m).empty();
}

TEST_F(E2eProtocol, UnknownFieldsInsideMessagesAreNotStored) {
  auto raw = Authed("alice");
  pb::ClientFrame send;
  send.set_request_id("k1");
  auto* req = send.mutable_send();
  req->set_peer_user_id("bob");
  req->set_client_msg_id("unknown-fields");
  req->mutable_content()->set_text("hello");
  AddUnknownField(*req->mutable_content());
  AddUnknownField(*req->add_attachments());
  AddUnknownField(*req->mutable_quote());
  raw->Send(EncodeFrame(send, Encoding::kBinary), true);
  pb::ServerFrame ack = NextFrame(*raw);
  ASSERT_TRUE(ack.has_send_ack()) << ack.DebugString();

  pb::ClientFrame edit;
  edit.set_request_id("k2");
  auto* op = edit.mutable_message_op();
  op->set_conversation_id(ack.send_ack().conversation_id());
  op->set_target_seq(ack.send_ack().seq());
  op->mutable_edit()->mutable_content()->set_text("hello, edited");
  AddUnknownField(*op->mutable_edit()->mutable_content());
  raw->Send(EncodeFrame(edit, Encoding::kBinary), true);
  pb::ServerFrame edited = NextFrame(*raw);
  ASSERT_TRUE(edited.has_op_ack()) << edited.DebugString();

  FlareClient bob(server_.Options("bob"));
  ASSERT_TRUE(bob.Connect().ok());
  auto page = bob.Sync(ack.send_ack().conversation_id(), 0, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages_size(), 2);
  const pb::Message& stored = page->messages(0);
  EXPECT_EQ(stored.content().text(), "hello, edited");
  EXPECT_FALSE(HasUnknownFields(stored.content()));
  ASSERT_EQ(stored.attachments_size(), 1);
  EXPECT_FALSE(HasUnknownFields(stored.attachments(0)));
  EXPECT_FALSE(HasUnknownFields(stored.quote()));
  ASSERT_GE(stored.edit_history_size(), 1);
  for (const auto& version : stored.edit_history()) {
    EXPECT_FALSE(HasUnknownFields(version.content()));
  }
  EXPECT_FALSE(HasUnknownFields(page->messages(1).event().edit().content()));
}

TEST_F(E2eProtocol, ClientsCannotSendNotificationsOrEvents) {
  auto raw = Authed("alice");
  for (const char* type : {"MESSAGE_TYPE_NOTIFICATION", "MESSAGE_TYPE_EVENT"}) {
    raw->Send(std::string(R"({"requestId":"n1","send":{"peerUserId":"bob","clientMsgId":"n1",)") +
                  R"("type":")" + type + R"(","content":{"text":"x"}}})",
              false);
    pb::ServerFrame reply = NextFrame(*raw);
    EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_INVALID_ARGUMENT) << type;
  }
  ExpectAlive(*raw);
}

TEST_F(E2eProtocol, BadRequestIdsGetAClearErrorWithoutBeingEchoed) {
  auto raw = Authed("alice");
  std::string long_id(129, 'r');
  raw->Send(R"({"requestId":")" + long_id + R"(","ping":{"clientTimeMs":"1"}})", false);
  pb::ServerFrame reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);
  EXPECT_NE(reply.error().message().find("request_id"), std::string::npos);
  EXPECT_EQ(reply.request_id(), "");
  raw->Send(R"({"requestId":"tab\there","ping":{"clientTimeMs":"1"}})", false);
  reply = NextFrame(*raw);
  EXPECT_EQ(reply.error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(reply.request_id(), "");
  std::string longest(128, 'r');
  raw->Send(R"({"requestId":")" + longest + R"(","ping":{"clientTimeMs":"1"}})", false);
  reply = NextFrame(*raw);
  EXPECT_TRUE(reply.has_pong());
  EXPECT_EQ(reply.request_id(), longest);
  ExpectAlive(*raw);
}

TEST_F(E2eProtocol, TypingConversationIdsAreCheckedBeforeTheRateLimit) {
  auto raw = Authed("alice");
  // Each refused id is refused for what it is every time: it never becomes
  // a rate-limit key (which would answer RATE_LIMITED the second time).
  std::vector<std::pair<std::string, int>> refused = {
      {"", pb::ERROR_CODE_INVALID_ARGUMENT},
      {"group:" + std::string(300, 'g'), pb::ERROR_CODE_INVALID_ARGUMENT},
      {"single:bob:carol", pb::ERROR_CODE_FORBIDDEN}};
  for (const auto& [conv, code] : refused) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      raw->Send(R"({"requestId":"t1","typing":{"conversationId":")" + conv + R"("}})", false);
      EXPECT_EQ(NextFrame(*raw).error().code(), code) << "'" << conv << "' attempt " << attempt;
    }
  }
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
