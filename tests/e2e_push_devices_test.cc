// Push devices and preferences through the client protocol against a real
// embedded `flare serve`, and its offline hand-off seen through
// flare_push_offline_tasks_total on /metrics.
#include <gtest/gtest.h>

#include "support/server_metrics.h"
#include "support/server_process.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using testing::Metric;
using testing::ServerProcess;
using testing::WaitForMetric;
using testing::WaitOffline;

pb::SendRequest Text(const std::string& peer, const std::string& text) {
  pb::SendRequest r;
  r.set_peer_user_id(peer);
  r.set_type(pb::MESSAGE_TYPE_TEXT);
  r.mutable_content()->set_text(text);
  return r;
}

TEST(E2ePushDevices, BadRequestsAreRefusedWithTheReason) {
  ServerProcess server;
  FlareClient bob(server.Options("bob", "phone"));
  ASSERT_TRUE(bob.Connect().ok());
  Status st = bob.RegisterDevice("symbian", "tok");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown platform 'symbian'"), std::string::npos) << st.ToString();
  st = bob.RegisterDevice("ios", "");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("token must not be empty"), std::string::npos) << st.ToString();
  st = bob.SetDoNotDisturb(22 * 60, 1440, 0);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("0..1439"), std::string::npos) << st.ToString();
  st = bob.SetDoNotDisturb(22 * 60, 7 * 60, 15 * 60);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("utc_offset_minutes"), std::string::npos) << st.ToString();
  EXPECT_EQ(bob.MuteConversation("g:nosuch", -5).code(), Code::kInvalidArgument);
  EXPECT_FALSE(bob.MuteConversation("g:nosuch", -1).ok()) << "not a conversation of bob's";

  EXPECT_TRUE(bob.RegisterDevice("ios", "tok-bob", "en-US").ok());
  EXPECT_TRUE(bob.RegisterDevice("android", "tok-bob-2").ok()) << "registering again replaces";
  EXPECT_TRUE(bob.SetDoNotDisturb(22 * 60, 7 * 60, -300).ok());
  EXPECT_TRUE(bob.ClearDoNotDisturb().ok());
  EXPECT_TRUE(bob.UnregisterDevice().ok());
}

TEST(E2ePushDevices, AnOfflineDeviceGetsOneTaskPerConversationAndMutesAreRespected) {
  ServerProcess server;
  // Tasks published once the hand-off has looked at `messages` messages.
  auto tasks_after = [&](int64_t messages) {
    EXPECT_EQ(WaitForMetric(server, "flare_push_offline_messages_total", messages), messages);
    return Metric(server, "flare_push_offline_tasks_total");
  };
  FlareClient alice(server.Options("alice", "mac")), carol(server.Options("carol", "pc"));
  FlareClient bob(server.Options("bob", "phone"));
  for (auto* c : {&alice, &carol, &bob}) ASSERT_TRUE(c->Connect().ok());
  ASSERT_TRUE(bob.RegisterDevice("ios", "tok-bob", "en-US").ok());
  auto with_alice = bob.Send(Text("alice", "hi alice"));  // alice may see bob's presence now
  ASSERT_TRUE(with_alice.ok());
  ASSERT_TRUE(alice.Send(Text("bob", "while online")).ok());
  EXPECT_EQ(tasks_after(2), 0) << "an online device gets no task";

  bob.Disconnect();
  ASSERT_TRUE(WaitOffline(alice, "bob"));
  ASSERT_TRUE(alice.Send(Text("bob", "one")).ok());
  EXPECT_EQ(tasks_after(3), 1);
  ASSERT_TRUE(alice.Send(Text("bob", "two")).ok());
  EXPECT_EQ(tasks_after(4), 1) << "coalesced: same conversation, still offline";
  ASSERT_TRUE(carol.Send(Text("bob", "from carol")).ok());
  EXPECT_EQ(tasks_after(5), 2) << "another conversation";

  // Back online (which ends the coalescing), mutes alice, leaves again.
  ASSERT_TRUE(bob.Reconnect().ok());
  ASSERT_TRUE(bob.MuteConversation(with_alice->conversation_id(), -1).ok());
  bob.Disconnect();
  ASSERT_TRUE(WaitOffline(alice, "bob"));
  ASSERT_TRUE(alice.Send(Text("bob", "muted")).ok());
  EXPECT_EQ(tasks_after(6), 2) << "muted";
  ASSERT_TRUE(carol.Send(Text("bob", "not muted")).ok());
  EXPECT_EQ(tasks_after(7), 3) << "came back and left: notified again";
  EXPECT_EQ(Metric(server, "flare_push_offline_dropped_total"), 0);
  // The embedded push-worker took every task; with no provider configured
  // each becomes a dead letter.
  EXPECT_EQ(WaitForMetric(server, "flare_push_dead_letters_total", 3), 3);
}

// A device whose connection stays up but never acks (its network went
// away before the gateway noticed) is notified of the pushes it missed.
TEST(E2ePushDevices, APushTheConnectedDeviceDidNotAckIsNotified) {
  ServerProcess server({{"FLARE_GATEWAY_RESEND_TIMEOUT_MS", "100"},
                        {"FLARE_PUSH_OFFLINE_UNACKED_RESENDS", "1"}});
  FlareClient alice(server.Options("alice", "mac"));
  ASSERT_TRUE(alice.Connect().ok());
  {
    FlareClient bob(server.Options("bob", "phone"));
    ASSERT_TRUE(bob.Connect().ok());
    ASSERT_TRUE(bob.RegisterDevice("ios", "tok-bob").ok());
  }
  // bob's phone again, on a connection that reads but never acks.
  testing::RawConnection silent(server.ws_port(), "/ws?token=" + server.Token("bob", "phone"));
  ASSERT_TRUE(silent.connected());
  auto authenticated = silent.Next();
  ASSERT_TRUE(authenticated && !authenticated->closed);
  ASSERT_TRUE(alice.Send(Text("bob", "did you get this?")).ok());
  auto pushed = silent.Next();
  ASSERT_TRUE(pushed && !pushed->closed) << "the push reached the connection";
  EXPECT_EQ(WaitForMetric(server, "flare_push_offline_tasks_total", 1), 1)
      << "no task for the unacked push";
}

TEST(E2ePushDevices, TheHandOffCanBeSwitchedOff) {
  ServerProcess server({{"FLARE_PUSH_OFFLINE_ENABLED", "false"}});
  FlareClient bob(server.Options("bob", "phone"));
  ASSERT_TRUE(bob.Connect().ok());
  EXPECT_TRUE(bob.RegisterDevice("webhook", "https://example.test/push").ok());
  EXPECT_EQ(Metric(server, "flare_push_offline_tasks_total"), -1);
}

}  // namespace
}  // namespace flare
