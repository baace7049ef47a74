// push-server's offline hand-off with real components: a memory store and
// route table, the memory DeviceStore, the in-process event bus (the tasks
// are read back by a consumer of flare.im.push.tasks) and a ManualClock.
#include "services/push/server/offline_handoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/memory/memory_device_store.h"
#include "adapters/memory/memory_route_table.h"
#include "adapters/memory/memory_store.h"
#include "push/v1/push.pb.h"
#include "push_test_support.h"
#include "services/push/server/push_server.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

class NoDelivery final : public PushDelivery {
 public:
  void Deliver(std::span<const SessionPushes>) override {}
  void Notify(const std::vector<uint64_t>&, const std::shared_ptr<const SharedFrame>&) override {}
};

// The fixture's producer, told to refuse records (a full producer queue).
class SwitchableProducer final : public BusProducer {
 public:
  explicit SwitchableProducer(BusProducer& inner) : inner_(inner) {}
  Status Publish(const std::string& topic, std::string_view key, std::string_view value,
                 std::function<void(Status)> done) override {
    if (refuse) return Unavailable("producer queue full");
    return inner_.Publish(topic, key, value, std::move(done));
  }
  Status Flush(int timeout_ms) override { return inner_.Flush(timeout_ms); }
  std::atomic<bool> refuse{false};

 private:
  BusProducer& inner_;
};

class OfflineHandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(bus_.CreateTopic("flare.im.push.tasks", 4).ok());
    auto producer = bus_.CreateProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(producer).value();
    switchable_ = std::make_unique<SwitchableProducer>(*producer_);
    auto consumer = bus_.CreateConsumer("push-worker");
    ASSERT_TRUE(consumer.ok());
    consumer_ = std::move(consumer).value();
    ASSERT_TRUE(consumer_->Subscribe("flare.im.push.tasks", &listener_).ok());
    handoff_ = std::make_unique<OfflineHandoff>(
        OfflineHandoffDeps{devices_, routes_, store_, store_, *switchable_, clock_, &metrics_},
        OfflineHandoffOptions{});
    handoff_->Start();
    push_.SetOfflineSink(handoff_.get());
    // bob has a phone (push device) and a laptop (no push device).
    ASSERT_TRUE(
        devices_.Register({"t", "bob", "phone", "ios", "tok-bob", "en", false, "", 1}).ok());
    ASSERT_TRUE(
        devices_.Register({"t", "alice", "mac", "webhook", "tok-alice", "", false, "", 1}).ok());
  }

  // Stores message `seq` of `conv` from alice's "mac" and hands it to push-server.
  void Send(const std::string& conv, int64_t seq, const std::string& text = "hello",
            pb::MessageType type = pb::MESSAGE_TYPE_TEXT) {
    WriteBatch write;
    if (seq == 1) {
      for (const char* user : {"alice", "bob"}) {
        write.memberships.push_back({"t", conv, pb::CONVERSATION_TYPE_GROUP, user, 1});
      }
    }
    StoredMessage sm;
    sm.tenant = "t";
    sm.message.set_conversation_id(conv);
    sm.message.set_seq(seq);
    sm.message.set_server_msg_id("m-" + conv + "-" + std::to_string(seq));
    sm.message.set_client_msg_id("c-" + conv + "-" + std::to_string(seq));
    sm.message.set_sender("alice");
    sm.message.set_sender_device("mac");
    sm.message.set_type(type);
    sm.message.mutable_content()->set_text(text);
    write.messages.push_back(sm);
    ASSERT_TRUE(store_.Write(write).ok());
    std::vector<CommittedMessage> batch{{sm, audience_}};
    push_.OnStored(batch);
  }

  void Online(const std::string& user, const std::string& device, uint64_t session) {
    ASSERT_TRUE(routes_.Register("t", user, {"gw1", session, device, "ios"}).ok());
  }

  // Every task published so far (after the hand-off handled what is queued).
  std::vector<push::v1::PushTask> Tasks() {
    EXPECT_TRUE(handoff_->WaitIdle(5'000));
    auto records = consumer_->Poll(1000, 0);
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records) {
      push::v1::PushTask task;
      EXPECT_TRUE(task.ParseFromString(r.value));
      EXPECT_EQ(r.key, task.tenant() + "/" + task.user_id());
      tasks_.push_back(std::move(task));
    }
    return tasks_;
  }

  struct NoRebalance final : BusConsumerListener {
    void OnAssigned(const std::vector<int32_t>&) override {}
    void OnRevoked(const std::vector<int32_t>&) override {}
  } listener_;
  ManualClock clock_{1'700'000'000'000};  // 2023-11-14 22:13 UTC
  MemoryStore store_;
  MemoryRouteTable routes_{clock_};
  MemoryDeviceStore devices_;
  InProcessEventBus bus_;
  std::unique_ptr<BusProducer> producer_;
  std::unique_ptr<SwitchableProducer> switchable_;
  std::unique_ptr<BusConsumer> consumer_;
  Metrics metrics_;
  NoDelivery delivery_;
  PushServer push_{routes_, delivery_, PushOptions{2000, "gw1"}};
  std::unique_ptr<OfflineHandoff> handoff_;
  Audience audience_ =
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"alice", "bob"});
  std::vector<push::v1::PushTask> tasks_;
};

TEST_F(OfflineHandoffTest, OneTaskPerConversationWhileTheDeviceStaysOffline) {
  Send("g1", 1, "hello bob");
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u) << "bob's phone only: not the sender, not a device without a token";
  const auto& t = tasks[0];
  EXPECT_EQ(t.user_id(), "bob");
  EXPECT_EQ(t.device_id(), "phone");
  EXPECT_EQ(t.platform(), "ios");
  EXPECT_EQ(t.token(), "tok-bob");
  EXPECT_EQ(t.locale(), "en");
  EXPECT_EQ(t.title(), "alice");
  EXPECT_EQ(t.body(), "hello bob");
  EXPECT_EQ(t.badge(), 1);
  EXPECT_EQ(t.collapse_id(), "g1");
  EXPECT_EQ(t.data().at("conversation_id"), "g1");
  EXPECT_EQ(t.data().at("seq"), "1");
  EXPECT_EQ(t.data().at("server_msg_id"), "m-g1-1");
  EXPECT_EQ(t.source(), "offline");
  EXPECT_EQ(t.seq(), 1);
  EXPECT_EQ(t.created_ms(), clock_.NowMs());
  EXPECT_EQ(t.task_id().size(), 26u);

  Send("g1", 2);
  EXPECT_EQ(Tasks().size(), 1u) << "coalesced: same conversation, device still offline";

  Send("g2", 1, "", pb::MESSAGE_TYPE_IMAGE);
  tasks = Tasks();
  ASSERT_EQ(tasks.size(), 2u) << "another conversation notifies";
  EXPECT_EQ(tasks[1].body(), "[image]");
  EXPECT_EQ(tasks[1].badge(), 3) << "unread over both conversations";
}

// A connected device that did not ack its pushes is notified of them as
// if offline; the user's other devices, which may have acked, are not.
TEST_F(OfflineHandoffTest, PushesADeviceDidNotAckAreNotifiedToThatDeviceOnly) {
  ASSERT_TRUE(
      devices_.Register({"t", "bob", "tablet", "android", "tok-tab", "", false, "", 1}).ok());
  Online("bob", "phone", 1);
  Online("bob", "tablet", 2);
  Send("g1", 1, "are you there");
  EXPECT_TRUE(Tasks().empty()) << "both devices are online";

  handoff_->OnPushesUnacked("t", "bob", "phone", {{"g1", 1}, {"g9", 99}});
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u) << "one task: the phone's, and seq 99 was never stored";
  EXPECT_EQ(tasks[0].device_id(), "phone");
  EXPECT_EQ(tasks[0].body(), "are you there");
  EXPECT_EQ(tasks[0].seq(), 1);

  handoff_->OnPushesUnacked("t", "bob", "phone", {{"g1", 1}});
  EXPECT_EQ(Tasks().size(), 1u) << "coalesced like any offline notification";
  handoff_->OnPushesUnacked("t", "alice", "mac", {{"g1", 1}});
  EXPECT_EQ(Tasks().size(), 1u) << "a sender is not notified of her own message";

  // The next message finds the phone's route (it is connected, just
  // silent): that must not end the coalescing of what it was notified of.
  Send("g1", 2, "still there?");
  handoff_->OnPushesUnacked("t", "bob", "phone", {{"g1", 2}});
  EXPECT_EQ(Tasks().size(), 1u) << "one notification per conversation for a silent device";
  // A login does end it.
  handoff_->OnDeviceOnline("t", "bob", "phone");
  Send("g1", 3, "hello?");
  handoff_->OnPushesUnacked("t", "bob", "phone", {{"g1", 3}});
  EXPECT_EQ(Tasks().size(), 2u);
}

TEST_F(OfflineHandoffTest, ATaskTheProducerRefusedDoesNotSilenceTheConversation) {
  switchable_->refuse = true;
  Send("g1", 1);
  EXPECT_TRUE(Tasks().empty());
  switchable_->refuse = false;
  Send("g1", 2);
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u) << "the refused notification is not counted as sent";
  EXPECT_EQ(tasks[0].seq(), 2);
}

TEST_F(OfflineHandoffTest, ADeviceThatCameBackAndLeftIsNotifiedAgain) {
  Send("g1", 1);
  ASSERT_EQ(Tasks().size(), 1u);
  handoff_->OnDeviceOnline("t", "bob", "phone");  // logged in, then gone again
  Send("g1", 2);
  ASSERT_EQ(Tasks().size(), 2u);

  Online("bob", "phone", 7);
  Send("g1", 3);
  EXPECT_EQ(Tasks().size(), 2u) << "an online device gets no task";
  ASSERT_TRUE(routes_.Unregister("t", "bob", 7).ok());
  Send("g1", 4);
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 3u) << "its route was seen in a batch: it came back";
  EXPECT_EQ(tasks[2].seq(), 4);
}

TEST_F(OfflineHandoffTest, AReadCursorPastTheNotifiedSeqNotifiesAgain) {
  Send("g1", 1);
  Send("g1", 2);
  ASSERT_EQ(Tasks().size(), 1u);
  push_.OnReadMoved({{"t", "g1", "bob", "laptop", 0}});  // not past seq 1
  Send("g1", 3);
  ASSERT_EQ(Tasks().size(), 1u);
  push_.OnReadMoved({{"t", "g1", "bob", "laptop", 3}});
  Send("g1", 4);
  ASSERT_EQ(Tasks().size(), 2u);
}

TEST_F(OfflineHandoffTest, MutedConversationsGetNoTaskUntilTheMuteEnds) {
  ASSERT_TRUE(devices_.SetMute("t", "bob", "g1", clock_.NowMs() + 60'000).ok());
  ASSERT_TRUE(devices_.SetMute("t", "bob", "g2", -1).ok());
  Send("g1", 1);
  Send("g2", 1);
  EXPECT_TRUE(Tasks().empty());
  clock_.Advance(60'001);
  Send("g1", 2);
  Send("g2", 2);
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u) << "g1's mute ended, g2 is muted for good";
  EXPECT_EQ(tasks[0].conversation_id(), "g1");
}

TEST_F(OfflineHandoffTest, DoNotDisturbHoursAreInTheUsersLocalTime) {
  // 22:13 UTC is 23:13 at UTC+1: inside 23:00-07:00.
  ASSERT_TRUE(devices_.SetDoNotDisturb("t", "bob", DndWindow{23 * 60, 7 * 60, 60}).ok());
  Send("g1", 1);
  EXPECT_TRUE(Tasks().empty());
  clock_.Advance(8 * 3'600'000);  // 07:13 local
  Send("g1", 2);
  EXPECT_EQ(Tasks().size(), 1u);
}

TEST_F(OfflineHandoffTest, DisabledTokensAndEventsAreNotNotified) {
  ASSERT_TRUE(devices_.DisableToken("t", "ios", "tok-bob", "Unregistered").ok());
  Send("g1", 1);
  EXPECT_TRUE(Tasks().empty());
  ASSERT_TRUE(devices_.Register({"t", "bob", "phone", "ios", "tok-bob", "en", false, "", 2}).ok());
  Send("g1", 2, "", pb::MESSAGE_TYPE_EVENT);
  EXPECT_TRUE(Tasks().empty()) << "an event (recall, edit, ...) is not a notification";
}

TEST_F(OfflineHandoffTest, AFullQueueDropsAndCountsInsteadOfWaiting) {
  Metrics metrics;
  OfflineHandoff stalled(
      OfflineHandoffDeps{devices_, routes_, store_, store_, *producer_, clock_, &metrics},
      OfflineHandoffOptions{.max_queued = 1});  // not started: nothing drains it
  for (int i = 0; i < 3; ++i) {
    OfflineBatch batch;
    batch.messages.push_back({"t", "g1", i + 1, "m", "alice", "mac", 1, "x", audience_});
    stalled.OnCommitted(std::move(batch));
  }
  EXPECT_NE(metrics.Render().find("flare_push_offline_dropped_total 2\n"), std::string::npos)
      << metrics.Render();
}

// Device lookups that wait, after the first call began, until released.
class StallingDevices final : public testing::ForwardingDeviceStore {
 public:
  Result<std::vector<PushDevice>> DevicesOf(const std::string& t,
                                            std::span<const std::string> users) override {
    std::unique_lock lock(mu_);
    ++calls_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return ForwardingDeviceStore::DevicesOf(t, users);
  }
  void WaitForCall() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return calls_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool released_ = false;
};

// Starts `handoff` and queues three batches; the first is being handled
// (stalled in `stalling`) when it returns.
void QueueThreeBatchesWhileTheFirstStalls(OfflineHandoff& handoff, StallingDevices& stalling) {
  handoff.Start();
  auto audience =
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"alice", "bob"});
  for (int i = 0; i < 3; ++i) {
    OfflineBatch batch;
    batch.messages.push_back({"t", "g1", i + 1, "m", "alice", "mac", 1, "x", audience});
    handoff.OnCommitted(std::move(batch));
    if (i == 0) stalling.WaitForCall();
  }
}

// A slow device store cannot hold a shutdown: past the stop deadline, what
// is still queued is dropped and counted.
TEST_F(OfflineHandoffTest, StopGivesUpOnWhatIsQueuedAfterItsDeadline) {
  Metrics metrics;
  StallingDevices stalling;
  OfflineHandoff slow(
      OfflineHandoffDeps{stalling, routes_, store_, store_, *producer_, clock_, &metrics},
      OfflineHandoffOptions{.stop_deadline_ms = 1'000});
  QueueThreeBatchesWhileTheFirstStalls(slow, stalling);
  std::thread stopper([&] { slow.Stop(); });
  ASSERT_TRUE(testing::Eventually([&] { return slow.stopping(); }));
  clock_.Advance(1'000);
  stalling.Release();
  stopper.join();
  EXPECT_EQ(stalling.calls(), 1) << "batches after the deadline were still looked up";
  EXPECT_NE(metrics.Render().find("flare_push_offline_dropped_total 2\n"), std::string::npos)
      << metrics.Render();
}

// A login never overtakes a batch queued before it: that batch notifies,
// then the login ends the coalescing, so the next message notifies again.
TEST_F(OfflineHandoffTest, ALoginIsAppliedAfterTheBatchesQueuedBeforeIt) {
  StallingDevices stalling;
  ASSERT_TRUE(stalling.Register({"t", "bob", "phone", "ios", "tok-bob", "en", false, "", 1}).ok());
  OfflineHandoff ordered(
      OfflineHandoffDeps{stalling, routes_, store_, store_, *producer_, clock_, &metrics_},
      OfflineHandoffOptions{});
  ordered.Start();
  auto batch = [&](const std::string& conv, int64_t seq) {
    OfflineBatch b;
    b.messages.push_back({"t", conv, seq, "m-" + conv, "alice", "mac", 1, "x", audience_});
    return b;
  };
  ordered.OnCommitted(batch("g0", 1));
  stalling.WaitForCall();  // g0 is being handled
  ordered.OnCommitted(batch("g1", 1));
  ordered.OnDeviceOnline("t", "bob", "phone");  // after g1:1 was stored
  stalling.Release();
  ordered.OnCommitted(batch("g1", 2));  // bob offline again
  ASSERT_TRUE(ordered.WaitIdle(5'000));
  std::vector<std::string> notified;
  auto records = consumer_->Poll(100, 0);
  ASSERT_TRUE(records.ok());
  for (const auto& r : *records) {
    push::v1::PushTask task;
    ASSERT_TRUE(task.ParseFromString(r.value));
    notified.push_back(task.conversation_id() + "@" + std::to_string(task.seq()));
  }
  std::sort(notified.begin(), notified.end());
  EXPECT_EQ(notified, (std::vector<std::string>{"g0@1", "g1@1", "g1@2"}));
}

// Before its deadline, Stop hands on everything queued.
TEST_F(OfflineHandoffTest, StopHandlesWhatIsQueuedBeforeItsDeadline) {
  Metrics metrics;
  StallingDevices stalling;
  OfflineHandoff slow(
      OfflineHandoffDeps{stalling, routes_, store_, store_, *producer_, clock_, &metrics},
      OfflineHandoffOptions{.stop_deadline_ms = 1'000});
  QueueThreeBatchesWhileTheFirstStalls(slow, stalling);
  std::thread stopper([&] { slow.Stop(); });
  ASSERT_TRUE(testing::Eventually([&] { return slow.stopping(); }));
  stalling.Release();
  stopper.join();
  EXPECT_EQ(stalling.calls(), 3);
  EXPECT_NE(metrics.Render().find("flare_push_offline_dropped_total 0\n"), std::string::npos)
      << metrics.Render();
}

TEST(OfflineText, ExcerptsKeepUtf8WholeAndDndWrapsMidnight) {
  EXPECT_EQ(Excerpt("short", 10), "short");
  EXPECT_EQ(Excerpt("h\xC3\xA9llo", 2), "h\xE2\x80\xA6");  // not half of é
  DndWindow night{22 * 60, 6 * 60, 0};
  const int64_t midnight = 1'699'920'000'000;  // 2023-11-14 00:00 UTC
  EXPECT_TRUE(InDoNotDisturb(night, midnight + 23 * 3'600'000));
  EXPECT_TRUE(InDoNotDisturb(night, midnight + 5 * 3'600'000));
  EXPECT_FALSE(InDoNotDisturb(night, midnight + 6 * 3'600'000));
  DndWindow day{9 * 60, 17 * 60, -300};                          // 09:00-17:00 at UTC-5
  EXPECT_TRUE(InDoNotDisturb(day, midnight + 15 * 3'600'000));   // 10:00 local
  EXPECT_FALSE(InDoNotDisturb(day, midnight + 23 * 3'600'000));  // 18:00 local
}

}  // namespace
}  // namespace flare
