// The gateway inbox on the in-process bus: outcomes, pushes and notices for
// another process's gateway reach that gateway's inbox and no other; this
// process's own go to its gateway directly; push-server hands each other
// gateway one record per committed batch.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "common/ids.h"
#include "services/signaling/inbox/gateway_inbox.h"
#include "services/signaling/inbox/gateway_outbox.h"
#include "services/signaling/inbox/gateway_record_codec.h"
#include "support/counting_route_table.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
constexpr char kTopic[] = "flare.gateways";

// Stands in for a process's Gateway: records what reaches it.
class RecordingGateway final : public CommandReplies, public PushDelivery, public SessionKicks {
 public:
  void KickSession(uint64_t session_id, const std::string& reason) override {
    std::lock_guard lock(mu_);
    kicked.push_back({session_id, reason});
    cv_.notify_all();
  }
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    std::lock_guard lock(mu_);
    outcomes.push_back({to.gateway_id, to.session_id, to.request_id, outcome.result().seq()});
    cv_.notify_all();
  }
  void Deliver(std::span<const SessionPushes> pushes) override {
    std::lock_guard lock(mu_);
    ++deliver_calls;
    for (const auto& p : pushes) {
      for (const auto& item : p.items) pushed[p.session_id].push_back(item->seq);
    }
    cv_.notify_all();
  }
  void Notify(const std::vector<uint64_t>& sessions,
              const std::shared_ptr<const SharedFrame>& frame) override {
    std::lock_guard lock(mu_);
    for (uint64_t s : sessions) noticed[s].push_back(frame->frame().read_notice().seq());
    cv_.notify_all();
  }
  // Waits (bounded) until `done` holds under the lock.
  bool WaitUntil(const std::function<bool()>& done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), done);
  }

  struct Outcome {
    std::string gateway_id;
    uint64_t session_id;
    std::string request_id;
    int64_t seq;
  };
  std::vector<Outcome> outcomes;
  int deliver_calls = 0;
  std::map<uint64_t, std::vector<int64_t>> pushed;
  std::map<uint64_t, std::vector<int64_t>> noticed;
  std::vector<std::pair<uint64_t, std::string>> kicked;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

std::unique_ptr<GatewayOutbox> OutboxOf(EventBus& bus, const std::string& gateway,
                                        RecordingGateway& local, Counter* failures = nullptr) {
  auto producer = bus.CreateProducer();
  EXPECT_TRUE(producer.ok());
  return std::make_unique<GatewayOutbox>(GatewayOutboxOptions{kTopic, gateway}, local, local,
                                         std::move(producer).value(), failures);
}

std::unique_ptr<GatewayInbox> InboxOf(EventBus& bus, const std::string& gateway,
                                      RecordingGateway& sink, Counter* received) {
  GatewayInboxOptions o;
  o.topic = kTopic;
  o.gateway_id = gateway;
  o.poll_timeout_ms = 20;
  auto inbox = std::make_unique<GatewayInbox>(bus, o, sink, sink, sink, received);
  Status st = inbox->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return inbox;
}

CommandOutcome SendOutcome(int64_t seq) {
  CommandOutcome outcome;
  outcome.message.set_seq(seq);
  return outcome;
}

TEST(GatewayInbox, AnOutcomeForAnotherGatewayReachesItsInboxAndNoOther) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic(kTopic, 1).ok());  // one partition: one order for every record
  RecordingGateway a, b, c;
  Counter a_received, b_received;
  auto inbox_a = InboxOf(bus, "gw-a", a, &a_received);
  auto inbox_b = InboxOf(bus, "gw-b", b, &b_received);
  auto outbox_a = OutboxOf(bus, "gw-a", a);
  auto outbox_c = OutboxOf(bus, "gw-c", c);

  outbox_a->OnCommandDone({"gw-a", 1, "mine"}, SendOutcome(4));  // straight to A
  outbox_a->OnCommandDone({"gw-b", 7, "r1"}, SendOutcome(5));
  outbox_a->OnCommandDone({"gw-b", 0, "nobody"}, SendOutcome(6));  // no session waits: not sent
  outbox_c->OnCommandDone({"gw-a", 2, "marker"}, SendOutcome(9));  // after B's, for A
  ASSERT_TRUE(b.WaitUntil([&] { return !b.outcomes.empty(); }));
  ASSERT_TRUE(a.WaitUntil([&] { return a.outcomes.size() == 2; }));
  inbox_a->Stop();
  inbox_b->Stop();

  ASSERT_EQ(b.outcomes.size(), 1u);
  EXPECT_EQ(b.outcomes[0].gateway_id, "gw-b");
  EXPECT_EQ(b.outcomes[0].session_id, 7u);
  EXPECT_EQ(b.outcomes[0].request_id, "r1");
  EXPECT_EQ(b.outcomes[0].seq, 5);
  // A has its own outcome (direct) and the marker, published after B's
  // record: A's inbox read B's record first and left it alone.
  ASSERT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[0].request_id, "mine");
  EXPECT_EQ(a.outcomes[1].request_id, "marker");
  EXPECT_EQ(a.outcomes[1].gateway_id, "gw-a");
  EXPECT_EQ(a_received.Value(), 1);
  EXPECT_EQ(b_received.Value(), 1);
  EXPECT_TRUE(c.outcomes.empty());
}

CommittedMessage GroupMessage(const Audience& audience, int64_t seq) {
  CommittedMessage cm;
  cm.stored.tenant = "t";
  cm.stored.message.set_conversation_id("g:1");
  cm.stored.message.set_seq(seq);
  cm.stored.message.set_sender("u0");
  cm.stored.message.set_sender_device("d0");
  cm.audience = audience;
  return cm;
}

class NullListener final : public BusConsumerListener {
 public:
  void OnAssigned(const std::vector<int32_t>&) override {}
  void OnRevoked(const std::vector<int32_t>&) override {}
};

// Every record on the topic now, by key (the in-process bus stores inside Publish).
std::map<std::string, std::vector<std::string>> RecordsByKey(EventBus& bus) {
  NullListener listener;  // outlives the consumer
  auto consumer = bus.CreateConsumer("observer");
  EXPECT_TRUE(consumer.ok());
  EXPECT_TRUE((*consumer)->Subscribe(kTopic, &listener).ok());
  std::map<std::string, std::vector<std::string>> out;
  while (true) {
    auto records = (*consumer)->Poll(1000, 0);
    EXPECT_TRUE(records.ok());
    if (!records.ok() || records->empty()) break;
    for (auto& r : *records) out[r.key].push_back(std::move(r.value));
  }
  return out;
}

TEST(GatewayInbox, PushServerHandsEachOtherGatewayOneRecordPerBatch) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic(kTopic, 4).ok());
  testing::CountingRouteTable routes;
  ASSERT_TRUE(routes.Register("t", "u1", {"gw-a", 1, "d1", "web"}).ok());
  ASSERT_TRUE(routes.Register("t", "u2", {"gw-b", 2, "d1", "web"}).ok());
  ASSERT_TRUE(routes.Register("t", "u2", {"gw-b", 3, "d2", "ios"}).ok());
  ASSERT_TRUE(routes.Register("t", "u3", {"gw-c", 2, "d1", "web"}).ok());  // same id, other gw
  ASSERT_TRUE(routes.Register("t", "u4", {"gw-b", 5, "d1", "web"}).ok());
  RecordingGateway a;
  auto outbox = OutboxOf(bus, "gw-a", a);
  PushServer push(routes, a, PushOptions{2000, "gw-a"}, outbox.get());
  auto audience = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"});
  std::vector<CommittedMessage> batch;
  for (int64_t seq = 1; seq <= 3; ++seq) batch.push_back(GroupMessage(audience, seq));
  push.OnStored(batch);

  EXPECT_EQ(a.deliver_calls, 1);  // ours: directly, once
  EXPECT_EQ(a.pushed, (std::map<uint64_t, std::vector<int64_t>>{{1, {1, 2, 3}}}));
  auto records = RecordsByKey(bus);
  ASSERT_EQ(records.size(), 2u);
  ASSERT_EQ(records["gw-b"].size(), 1u) << "one record for gw-b's whole batch";
  ASSERT_EQ(records["gw-c"].size(), 1u);
  auto b = DecodeInboxRecord(records["gw-b"][0]);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::map<uint64_t, std::vector<int64_t>> b_pushed;
  for (const auto& p : std::get<InboxDelivery>(*b).pushes) {
    for (const auto& item : p.items) b_pushed[p.session_id].push_back(item->seq);
  }
  EXPECT_EQ(b_pushed, (std::map<uint64_t, std::vector<int64_t>>{
                          {2, {1, 2, 3}}, {3, {1, 2, 3}}, {5, {1, 2, 3}}}));
  auto c = DecodeInboxRecord(records["gw-c"][0]);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(std::get<InboxDelivery>(*c).pushes.size(), 1u);
  EXPECT_EQ(std::get<InboxDelivery>(*c).pushes[0].session_id, 2u);
}

TEST(GatewayInbox, AReadNoticeForAPeerOnAnotherGatewayArrivesThroughItsInbox) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic(kTopic, 4).ok());
  testing::CountingRouteTable routes;
  ASSERT_TRUE(routes.Register("t", "bob", {"gw-b", 8, "d1", "web"}).ok());
  RecordingGateway a, b;
  Counter b_received;
  auto inbox_b = InboxOf(bus, "gw-b", b, &b_received);
  auto outbox = OutboxOf(bus, "gw-a", a);
  PushServer push(routes, a, PushOptions{2000, "gw-a"}, outbox.get());
  push.OnReadMoved({ReadMove{"t", SingleConversationId("alice", "bob"), "alice", "d1", 12}});
  ASSERT_TRUE(b.WaitUntil([&] { return !b.noticed.empty(); }));
  EXPECT_EQ(b.noticed[8], std::vector<int64_t>{12});
  EXPECT_TRUE(a.noticed.empty());
}

// A login on gateway A displaced a session of gateway B: B's inbox hands
// the kick, addressed by gateway and session, to B only.
TEST(GatewayInbox, AKickForAnotherGatewaysSessionReachesThatGatewayOnly) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic(kTopic, 1).ok());
  RecordingGateway a, b;
  Counter a_received, b_received;
  auto inbox_a = InboxOf(bus, "gw-a", a, &a_received);
  auto inbox_b = InboxOf(bus, "gw-b", b, &b_received);
  auto outbox_a = OutboxOf(bus, "gw-a", a);
  outbox_a->Kick("gw-b", 7, "signed in on another device");
  outbox_a->OnCommandDone({"gw-a", 7, "marker"}, SendOutcome(1));  // A's session 7 (direct)
  ASSERT_TRUE(b.WaitUntil([&] { return !b.kicked.empty(); }));
  inbox_a->Stop();
  inbox_b->Stop();
  ASSERT_EQ(b.kicked.size(), 1u);
  EXPECT_EQ(b.kicked[0].first, 7u);
  EXPECT_EQ(b.kicked[0].second, "signed in on another device");
  EXPECT_TRUE(a.kicked.empty());  // A's session 7 is another session
  EXPECT_EQ(a_received.Value(), 0);
}

// A producer whose queue is always full.
class FullProducer final : public BusProducer {
 public:
  Status Publish(const std::string&, std::string_view, std::string_view,
                 std::function<void(Status)>) override {
    return Unavailable("queue full");
  }
  Status Flush(int) override { return Status::Ok(); }
};

TEST(GatewayOutbox, ARecordTheBusRefusesIsCountedAndDropped) {
  RecordingGateway a;
  Counter failures;
  GatewayOutbox outbox({kTopic, "gw-a"}, a, a, std::make_unique<FullProducer>(), &failures);
  for (int i = 0; i < 3; ++i) outbox.OnCommandDone({"gw-b", 1, "r"}, SendOutcome(1));
  EXPECT_EQ(failures.Value(), 3);
  outbox.OnCommandDone({"gw-a", 1, "r"}, SendOutcome(1));
  EXPECT_EQ(a.outcomes.size(), 1u);  // ours never touch the bus
  EXPECT_EQ(failures.Value(), 3);
}

}  // namespace
}  // namespace flare
