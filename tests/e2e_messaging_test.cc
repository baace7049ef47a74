// 1:1 messaging end to end against a real `flare serve`, each case over
// WebSocket and over QUIC (the same client frames, docs/protocol.md).
#include <gtest/gtest.h>

#include <thread>

#include "common/ids.h"
#include "services/signaling/gateway/frame_codec.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::RawConnection;
using testing::ServerProcess;

pb::SendRequest Text(const std::string& peer, const std::string& text,
                     const std::string& client_msg_id = "") {
  pb::SendRequest r;
  r.set_peer_user_id(peer);
  r.set_client_msg_id(client_msg_id.empty() ? NewClientMsgId() : client_msg_id);
  r.mutable_content()->set_text(text);
  return r;
}

// Asserts that `messages` are exactly seq 1..n of one conversation, in order.
void ExpectContiguous(const std::vector<pb::Message>& messages, size_t n) {
  ASSERT_EQ(messages.size(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(messages[i].seq(), static_cast<int64_t>(i + 1));
}

// The client options of the transport under test.
class E2eMessaging : public ::testing::TestWithParam<ClientOptions::Transport> {
 protected:
  ClientOptions Options(const ServerProcess& server, const std::string& user,
                        const std::string& device = "d1") const {
    return GetParam() == ClientOptions::Transport::kQuic ? server.QuicOptions(user, device)
                                                         : server.Options(user, device);
  }
};

INSTANTIATE_TEST_SUITE_P(Transports, E2eMessaging,
                         ::testing::Values(ClientOptions::Transport::kWebSocket,
                                           ClientOptions::Transport::kQuic),
                         [](const auto& info) {
                           return info.param == ClientOptions::Transport::kQuic ? "Quic"
                                                                                : "WebSocket";
                         });

TEST_P(E2eMessaging, SendIsAckedAndPushedToEveryOtherDevice) {
  ServerProcess server;
  FlareClient alice1(Options(server, "alice", "phone"));
  FlareClient alice2(Options(server, "alice", "laptop"));
  FlareClient bob1(Options(server, "bob", "phone")), bob2(Options(server, "bob", "tablet"));
  Inbox a2(alice2), b1(bob1), b2(bob2);
  for (auto* c : {&alice1, &alice2, &bob1, &bob2}) ASSERT_TRUE(c->Connect().ok());

  auto ack = alice1.Send(Text("bob", "hello bob"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->seq(), 1);
  EXPECT_EQ(ack->conversation_id(), SingleConversationId("alice", "bob"));
  EXPECT_EQ(ack->server_msg_id().size(), 26u);
  EXPECT_FALSE(ack->duplicate());

  for (Inbox* inbox : {&b1, &b2, &a2}) {
    auto got = inbox->WaitFor(1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].content().text(), "hello bob");
    EXPECT_EQ(got[0].sender(), "alice");
    EXPECT_EQ(got[0].sender_device(), "phone");
    EXPECT_EQ(got[0].seq(), 1);
    EXPECT_EQ(got[0].server_msg_id(), ack->server_msg_id());
  }
}

TEST_P(E2eMessaging, RetryWithTheSameClientMsgIdGivesOneMessage) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice")), bob(Options(server, "bob"));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  auto first = alice.Send(Text("bob", "once", "fixed-id"));
  auto again = alice.Send(Text("bob", "once", "fixed-id"));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->seq(), again->seq());
  EXPECT_EQ(first->server_msg_id(), again->server_msg_id());
  EXPECT_TRUE(again->duplicate());
  auto next = alice.Send(Text("bob", "second"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq(), 2);
  auto history = bob.Sync(first->conversation_id(), 0, 100);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->messages_size(), 2);
}

TEST_P(E2eMessaging, OfflineRecipientSyncsEverythingInOrder) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice"));
  ASSERT_TRUE(alice.Connect().ok());
  constexpr int kCount = 450;  // more than two sync pages
  for (int i = 1; i <= kCount; ++i) {
    ASSERT_TRUE(alice.Send(Text("carol", "m" + std::to_string(i))).ok());
  }
  FlareClient carol(Options(server, "carol"));
  Inbox inbox(carol);
  ASSERT_TRUE(carol.Connect().ok());
  auto got = inbox.WaitFor(kCount);
  ExpectContiguous(got, kCount);
  EXPECT_EQ(got.back().content().text(), "m" + std::to_string(kCount));
}

TEST_P(E2eMessaging, LivePushesDuringSyncLeaveNoGapsOrDuplicates) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice"));
  ASSERT_TRUE(alice.Connect().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(alice.Send(Text("dave", "before")).ok());
  std::atomic<bool> sending{true};
  std::thread sender([&] {
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(alice.Send(Text("dave", "during")).ok());
    sending = false;
  });
  FlareClient dave(Options(server, "dave"));
  Inbox inbox(dave);
  ASSERT_TRUE(dave.Connect().ok());  // catches up while pushes keep arriving
  sender.join();
  ExpectContiguous(inbox.WaitFor(600), 600);
}

TEST_P(E2eMessaging, JsonAndProtobufClientsTalkToEachOther) {
  ServerProcess server;
  ClientOptions json_options = Options(server, "alice");
  json_options.json = true;
  FlareClient alice(json_options), bob(Options(server, "bob"));
  Inbox to_alice(alice), to_bob(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  pb::SendRequest hello = Text("bob", "from json");
  (*hello.mutable_attributes())["k"] = "v";
  ASSERT_TRUE(alice.Send(hello).ok());
  pb::SendRequest reply = Text("alice", "from protobuf");
  reply.mutable_quote()->set_seq(1);  // a reply quoting alice's message
  reply.mutable_quote()->set_sender("alice");
  reply.mutable_quote()->set_excerpt("from json");
  ASSERT_TRUE(bob.Send(reply).ok());
  // Each side's stream holds both messages: its own (from the ack) and the peer's.
  auto at_bob = to_bob.WaitFor(2);
  auto at_alice = to_alice.WaitFor(2);
  ASSERT_EQ(at_bob.size(), 2u);
  ASSERT_EQ(at_alice.size(), 2u);
  EXPECT_EQ(at_bob[0].content().text(), "from json");
  EXPECT_EQ(at_bob[0].attributes().at("k"), "v");
  EXPECT_EQ(at_alice[0].content().text(), "from json");
  EXPECT_EQ(at_alice[0].sender(), "alice");
  EXPECT_EQ(at_alice[1].content().text(), "from protobuf");
  EXPECT_EQ(at_alice[1].seq(), 2);
  EXPECT_EQ(at_alice[1].quote().seq(), 1);
  EXPECT_EQ(at_alice[1].quote().excerpt(), "from json");
}

TEST_P(E2eMessaging, NonMembersCannotSendIntoOrSyncAConversation) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice")), mallory(Options(server, "mallory"));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(mallory.Connect().ok());
  auto ack = alice.Send(Text("bob", "private"));
  ASSERT_TRUE(ack.ok());

  auto sync = mallory.Sync(ack->conversation_id(), 0, 10);
  EXPECT_EQ(sync.status().code(), Code::kPermissionDenied) << sync.status().ToString();
  pb::SendRequest intrude;
  intrude.set_conversation_id(ack->conversation_id());
  intrude.set_client_msg_id("x1");
  intrude.mutable_content()->set_text("let me in");
  auto sent = mallory.Send(intrude);
  EXPECT_EQ(sent.status().code(), Code::kPermissionDenied) << sent.status().ToString();
  auto unknown = mallory.Sync("group-that-does-not-exist", 0, 10);
  EXPECT_EQ(unknown.status().code(), Code::kPermissionDenied);
  auto history = alice.Sync(ack->conversation_id(), 0, 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->messages_size(), 1);
}

TEST_P(E2eMessaging, BootstrapListsConversationsWithCursorsAndUnread) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice")), bob(Options(server, "bob"));
  ASSERT_TRUE(alice.Connect().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(alice.Send(Text("bob", "hi " + std::to_string(i))).ok());
  ASSERT_TRUE(alice.Send(Text("erin", "hey erin")).ok());
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(bob.Send(Text("alice", "back at you")).ok());

  auto boot = bob.Bootstrap();
  ASSERT_TRUE(boot.ok());
  ASSERT_EQ(boot->conversations_size(), 1);
  const auto& c = boot->conversations(0);
  EXPECT_EQ(c.peer_user_id(), "alice");
  EXPECT_EQ(c.max_seq(), 4);
  EXPECT_EQ(c.unread(), 3) << "bob's own message is never unread";
  EXPECT_EQ(c.last_message().content().text(), "back at you");

  auto alice_boot = alice.Bootstrap();
  ASSERT_TRUE(alice_boot.ok());
  EXPECT_EQ(alice_boot->conversations_size(), 2);
}

TEST_P(E2eMessaging, MetricsCountMessagesAndConnections) {
  ServerProcess server;
  FlareClient alice(Options(server, "alice"));
  ASSERT_TRUE(alice.Connect().ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(alice.Send(Text("bob", "x")).ok());
  long status = 0;
  std::string metrics = server.HttpGet("/metrics", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(metrics.find("flare_messages_stored_total 5\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("flare_connections_authenticated 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("flare_send_to_ack_seconds_count 5\n"), std::string::npos);
  EXPECT_EQ(server.HttpGet("/healthz", &status), "ok\n");
  EXPECT_EQ(server.HttpGet("/readyz", &status), "ready\n");
}

// Raw WebSocket frames: the same push seen twice.
TEST(E2eMessagingRaw, UnackedPushesAreResent) {
  ServerProcess server(
      {{"FLARE_GATEWAY_RESEND_TIMEOUT_MS", "100"}, {"FLARE_GATEWAY_TIMER_INTERVAL_MS", "20"}});
  RawConnection bob(server.ws_port(), "/ws?token=" + server.Token("bob"));
  ASSERT_TRUE(bob.Next().has_value());  // auth result
  FlareClient alice(server.Options("alice"));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(alice.Send(Text("bob", "are you there")).ok());
  std::vector<std::string> pushes;
  for (int i = 0; i < 2; ++i) {
    auto e = bob.Next();
    ASSERT_TRUE(e && !e->closed);
    pushes.push_back(e->data);
  }
  EXPECT_EQ(pushes[0], pushes[1]) << "the same push frame is sent again";
  auto frame = DecodeServerFrame(pushes[0], Encoding::kBinary);
  ASSERT_TRUE(frame.ok() && frame->has_push());
  EXPECT_EQ(frame->push().messages(0).seq(), 1);
}

}  // namespace
}  // namespace flare
