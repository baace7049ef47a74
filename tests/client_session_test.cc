#include "services/signaling/gateway/client_session.h"

#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "common/metrics.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

// A Connection that records what the session sends.
class RecordingConnection final : public Connection {
 public:
  uint64_t id() const override { return 7; }
  size_t Send(std::shared_ptr<const std::string> bytes, bool binary) override {
    queued_ += bytes->size();
    frames.push_back(*bytes);
    return queued_;
  }
  void Close(uint16_t code, std::string reason) override {
    close_code = code;
    close_reason = reason;
  }
  std::string RemoteAddress() const override { return "test"; }

  std::vector<std::string> frames;
  uint16_t close_code = 0;
  std::string close_reason;

 private:
  size_t queued_ = 0;
};

std::shared_ptr<const PushItem> Item(const std::string& conv, int64_t seq) {
  pb::ServerFrame frame;
  auto* m = frame.mutable_push()->add_messages();
  m->set_conversation_id(conv);
  m->set_seq(seq);
  return std::make_shared<const PushItem>(conv, seq, frame);
}

class ClientSessionTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  std::shared_ptr<RecordingConnection> conn_ = std::make_shared<RecordingConnection>();
  SessionLimits limits_{3, 1 << 20};
  std::shared_ptr<ClientSession> session_ =
      std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
};

TEST_F(ClientSessionTest, CumulativeAckSettlesEverythingUpToTheSeq) {
  session_->Push({Item("c1", 1)}, clock_.MonotonicMs());
  session_->Push({Item("c1", 2)}, clock_.MonotonicMs());
  session_->Push({Item("c2", 1)}, clock_.MonotonicMs());
  EXPECT_EQ(conn_->frames.size(), 3u);
  EXPECT_EQ(session_->Ack("c1", 2, clock_.NowMs()), 2u);
  EXPECT_EQ(session_->Ack("c1", 2, clock_.NowMs()), 0u);
  EXPECT_EQ(session_->UnackedCount(), 1u);
  auto cursors = session_->TakeDeliveredCursors();  // many acks, one cursor write
  ASSERT_EQ(cursors.size(), 1u);
  EXPECT_EQ(cursors[0], std::make_pair(std::string("c1"), int64_t{2}));
  EXPECT_TRUE(session_->TakeDeliveredCursors().empty());
}

TEST(ClientSessionDelivery, EachPushSettledByAnAckIsTimedFromItsServerTime) {
  ManualClock clock;
  Metrics registry;
  ServerMetrics metrics(registry);
  auto conn = std::make_shared<RecordingConnection>();
  auto session =
      std::make_shared<ClientSession>(conn, clock.MonotonicMs(), SessionLimits{}, &metrics);
  auto stamped = [&](int64_t seq, int64_t server_time_ms) {
    pb::ServerFrame frame;
    auto* m = frame.mutable_push()->add_messages();
    m->set_conversation_id("c1");
    m->set_seq(seq);
    m->set_server_time_ms(server_time_ms);
    return std::make_shared<const PushItem>("c1", seq, frame);
  };
  int64_t t0 = clock.NowMs();
  session->Push({stamped(1, t0), stamped(2, t0 + 100)}, clock.MonotonicMs());
  session->Push({stamped(3, t0 + 200)}, clock.MonotonicMs());
  clock.Advance(300);
  EXPECT_EQ(session->Ack("c1", 2, clock.NowMs()), 2u);  // 300 ms and 200 ms
  EXPECT_EQ(metrics.delivery_ms.Count(), 2);
  EXPECT_NEAR(metrics.delivery_ms.Sum(), 0.5, 1e-9);
  EXPECT_EQ(session->Ack("c1", 2, clock.NowMs()), 0u);  // nothing settled: nothing observed
  EXPECT_EQ(metrics.delivery_ms.Count(), 2);
  clock.Advance(50);
  EXPECT_EQ(session->Ack("c1", 3, clock.NowMs()), 1u);  // 150 ms
  EXPECT_EQ(metrics.delivery_ms.Count(), 3);
  EXPECT_NEAR(metrics.delivery_ms.Sum(), 0.65, 1e-9);
  std::string text = registry.Render();
  EXPECT_NE(text.find("flare_message_delivery_seconds_bucket{le=\"0.2\"} 2\n"), std::string::npos)
      << text;
}

TEST_F(ClientSessionTest, UnackedPushesAreResentAfterTheTimeout) {
  session_->Push({Item("c1", 1)}, clock_.MonotonicMs());
  clock_.Advance(999);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);
  clock_.Advance(1);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 1u);
  EXPECT_EQ(conn_->frames.size(), 2u);
  EXPECT_EQ(conn_->frames[0], conn_->frames[1]);                   // the same bytes again
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);  // timer restarted
  session_->Ack("c1", 1, clock_.NowMs());
  clock_.Advance(5000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);
}

TEST_F(ClientSessionTest, ResendsBackOffExponentiallyUpToTheCap) {
  limits_.max_resends = 10;
  limits_.max_resend_interval_ms = 4000;
  session_ = std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
  session_->Push({Item("c1", 1)}, clock_.MonotonicMs());
  // Waits before each resend: 1000, 2000, 4000, then capped at 4000.
  for (int64_t wait : {1000, 2000, 4000, 4000, 4000}) {
    clock_.Advance(wait - 1);
    EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u) << wait;
    clock_.Advance(1);
    EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 1u) << wait;
  }
  EXPECT_EQ(conn_->frames.size(), 6u);
  EXPECT_EQ(conn_->close_code, 0);
}

// The offline hand-off hears once of each push unacked at its second
// resend; an acked push never.
TEST_F(ClientSessionTest, PushesUnackedAtTheReportingResendAreReportedOnce) {
  limits_.max_resends = 5;
  session_ = std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
  session_->Push({Item("c1", 1), Item("c1", 2)}, clock_.MonotonicMs());
  session_->Push({Item("c2", 7)}, clock_.MonotonicMs());
  session_->Ack("c1", 1, clock_.NowMs());
  std::vector<MessageRef> overdue;
  clock_.Advance(1000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000, 2, &overdue), 2u);
  EXPECT_TRUE(overdue.empty()) << "reported at the first resend";
  clock_.Advance(2000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000, 2, &overdue), 2u);
  std::set<std::pair<std::string, int64_t>> got;
  for (const auto& ref : overdue) got.insert({ref.conversation_id, ref.seq});
  EXPECT_EQ(got, (std::set<std::pair<std::string, int64_t>>{{"c1", 2}, {"c2", 7}}));
  overdue.clear();
  clock_.Advance(4000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000, 2, &overdue), 2u);
  EXPECT_TRUE(overdue.empty()) << "reported twice";
}

TEST_F(ClientSessionTest, PushStillUnackedAfterTheLastResendClosesAsSlowConsumer) {
  limits_.max_resends = 2;
  session_ = std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
  session_->Push({Item("c1", 1)}, clock_.MonotonicMs());
  clock_.Advance(1000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 1u);
  clock_.Advance(2000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 1u);
  clock_.Advance(3999);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);
  EXPECT_EQ(conn_->close_code, 0);  // not due yet: still waiting for the ack
  clock_.Advance(1);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);
  EXPECT_EQ(conn_->close_code, 1008);
  EXPECT_NE(conn_->close_reason.find("slow consumer"), std::string::npos);
  EXPECT_EQ(conn_->frames.size(), 3u);  // the push and two resends, no more
  clock_.Advance(60'000);
  EXPECT_EQ(session_->ResendDue(clock_.MonotonicMs(), 1000), 0u);
  EXPECT_EQ(conn_->frames.size(), 3u);
}

TEST_F(ClientSessionTest, TypingStateIsBoundedAndPrunedOfExpiredEntries) {
  limits_.max_typing_conversations = 4;
  session_ = std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
  for (int c = 0; c < 4; ++c) {
    EXPECT_TRUE(session_->AllowTyping("c" + std::to_string(c), clock_.MonotonicMs(), 1000));
  }
  // Full, and every entry still within its interval: a new conversation waits.
  EXPECT_FALSE(session_->AllowTyping("c4", clock_.MonotonicMs(), 1000));
  EXPECT_FALSE(session_->AllowTyping("c0", clock_.MonotonicMs(), 1000));
  clock_.Advance(1000);  // the old entries expired and make room
  for (int c = 4; c < 8; ++c) {
    EXPECT_TRUE(session_->AllowTyping("c" + std::to_string(c), clock_.MonotonicMs(), 1000));
  }
  EXPECT_FALSE(session_->AllowTyping("c4", clock_.MonotonicMs(), 1000));  // still limited
}

TEST_F(ClientSessionTest, PresenceSubscriptionsAreCappedAllOrNothing) {
  limits_.max_subscriptions = 3;
  session_ = std::make_shared<ClientSession>(conn_, clock_.MonotonicMs(), limits_, nullptr);
  EXPECT_TRUE(session_->AddSubscriptions({"a", "b"}).ok());
  EXPECT_TRUE(session_->AddSubscriptions({"a", "b", "c"}).ok());  // a, b held already
  Status over = session_->AddSubscriptions({"d", "a"});
  EXPECT_EQ(over.code(), Code::kInvalidArgument);
  EXPECT_NE(over.message().find("at most 3"), std::string::npos);
  EXPECT_EQ(session_->Subscriptions().size(), 3u);  // nothing of the refused call added
  session_->RemoveSubscriptions({"a"});
  EXPECT_TRUE(session_->AddSubscriptions({"d"}).ok());
  EXPECT_EQ(session_->Subscriptions().size(), 3u);
}

TEST_F(ClientSessionTest, TooManyUnackedPushesCloseTheConnection) {
  for (int seq = 1; seq <= 3; ++seq) session_->Push({Item("c1", seq)}, clock_.MonotonicMs());
  EXPECT_EQ(conn_->close_code, 0);
  session_->Push({Item("c1", 4)}, clock_.MonotonicMs());
  EXPECT_EQ(conn_->close_code, 1008);
  EXPECT_NE(conn_->close_reason.find("slow consumer"), std::string::npos);
  EXPECT_EQ(conn_->frames.size(), 3u);
}

TEST_F(ClientSessionTest, UnauthenticatedSessionTimesOut) {
  clock_.Advance(499);
  EXPECT_EQ(session_->Check(clock_.MonotonicMs(), 500, 10'000), SessionCheck::kOk);
  clock_.Advance(1);
  EXPECT_EQ(session_->Check(clock_.MonotonicMs(), 500, 10'000), SessionCheck::kAuthTimeout);
  EXPECT_TRUE(session_->SetPrincipal({"t", "alice", "d", "web", 0}));
  EXPECT_FALSE(session_->SetPrincipal({"t", "mallory", "d", "web", 0}));
  EXPECT_EQ(session_->Check(clock_.MonotonicMs(), 500, 10'000), SessionCheck::kOk);
}

TEST_F(ClientSessionTest, IdleSessionTimesOutUnlessItSendsSomething) {
  session_->SetPrincipal({"t", "alice", "d", "web", 0});
  clock_.Advance(900);
  session_->OnFrameReceived(Encoding::kBinary, clock_.MonotonicMs());
  clock_.Advance(900);
  EXPECT_EQ(session_->Check(clock_.MonotonicMs(), 500, 1000), SessionCheck::kOk);
  clock_.Advance(100);
  EXPECT_EQ(session_->Check(clock_.MonotonicMs(), 500, 1000), SessionCheck::kIdleTimeout);
}

TEST_F(ClientSessionTest, RepliesInTheEncodingOfTheLastFrame) {
  session_->OnFrameReceived(Encoding::kJson, clock_.MonotonicMs());
  pb::ServerFrame pong;
  pong.mutable_pong()->set_server_time_ms(5);
  session_->Reply("r1", pong);
  ASSERT_EQ(conn_->frames.size(), 1u);
  EXPECT_EQ(conn_->frames[0].front(), '{');
  EXPECT_NE(conn_->frames[0].find("\"requestId\":\"r1\""), std::string::npos);
}

}  // namespace
}  // namespace flare
