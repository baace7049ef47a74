// push-worker without a network: a scripted provider in the process, the
// ManualClock for backoff, the in-process bus for tasks and dead letters.
// Also the provider answer classification and the [push] config tables.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "adapters/apns/apns_provider.h"
#include "adapters/fcm/fcm_provider.h"
#include "common/config.h"
#include "push_test_support.h"
#include "services/push/worker/push_task_consumer.h"
#include "support/test_crypto.h"

namespace flare {
namespace {

using Kind = PushSendResult::Kind;
using testing::Eventually;
using testing::MakeTask;

// Answers each send from a per-token script (last entry sticky; default
// delivered), at once or, with hold(), when release() is called.
class ScriptedProvider final : public PushProvider, public PushProviderDirectory {
 public:
  void Script(const std::string& token, std::vector<PushSendResult> answers) {
    std::lock_guard lock(mu_);
    script_[token] = std::move(answers);
  }
  void Hold(bool hold) { hold_ = hold; }
  void ReleaseAll() {
    std::vector<std::pair<PushSendCallback, PushSendResult>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& [done, result] : held) done(result);
  }
  std::vector<PushNotification> Sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

  void Send(const PushNotification& n, Deadline, PushSendCallback done) override {
    PushSendResult result{Kind::kDelivered, 200, "", std::nullopt};
    {
      std::lock_guard lock(mu_);
      sent_.push_back(n);
      if (auto it = script_.find(n.token); it != script_.end() && !it->second.empty()) {
        result = it->second.front();
        if (it->second.size() > 1) it->second.erase(it->second.begin());
      }
      if (hold_) {
        held_.emplace_back(std::move(done), result);
        return;
      }
    }
    done(result);
  }
  void Close() override { ReleaseAll(); }
  Choice Find(const std::string&, const std::string& platform) override {
    if (platform == "none") return {nullptr, "webhook"};
    return {this, PushProviderForPlatform(platform)};
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<PushSendResult>> script_;
  std::vector<PushNotification> sent_;
  std::atomic<bool> hold_{false};
  std::vector<std::pair<PushSendCallback, PushSendResult>> held_;
};

PushSendResult Retriable(std::optional<std::chrono::milliseconds> after = std::nullopt) {
  return {Kind::kRetriable, 503, "busy", after};
}

PushWorkerOptions SmallOptions() {
  PushWorkerOptions o;
  o.max_attempts = 4;
  o.initial_backoff_ms = 1'000;
  o.max_backoff_ms = 3'000;
  return o;
}

TEST(PushWorker, BackoffDoublesUpToItsCapWithJitterInTheUpperHalf) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("tok", {Retriable(), Retriable(), Retriable(), {Kind::kDelivered, 200, "", {}}});
  testing::WorkerRig rig(provider, clock, SmallOptions());  // FixedRandom(0): waits b - b/2
  PushWorker& worker = rig.worker();
  ASSERT_TRUE(worker.Submit(MakeTask("t", "ios", "tok")).ok());
  worker.Pump();
  // Waits of 500, 1000 and 1500 ms (1000, 2000, then 3000 capped, halved by jitter 0).
  for (int64_t wait : {500, 1000, 1500}) {
    size_t before = provider.Sent().size();
    clock.Advance(wait - 1);
    worker.Pump();
    EXPECT_EQ(provider.Sent().size(), before) << "sent before its backoff of " << wait;
    clock.Advance(1);
    worker.Pump();
    EXPECT_EQ(provider.Sent().size(), before + 1) << "not sent after its backoff of " << wait;
  }
  EXPECT_EQ(worker.StatsOf("acme").sent, 1);
  EXPECT_EQ(worker.StatsOf("acme").retried, 3);
  EXPECT_EQ(provider.Sent().back().task_id, "t");
}

TEST(PushWorker, JitterNeverPassesTheFullBackoff) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("tok", {Retriable(), {Kind::kDelivered, 200, "", {}}});
  testing::FixedRandom high(~uint64_t{0});
  PushWorker worker(provider, nullptr, nullptr, clock, high, nullptr, SmallOptions());
  ASSERT_TRUE(worker.Submit(MakeTask("t", "ios", "tok")).ok());
  worker.Pump();
  clock.Advance(1'000);  // the whole first backoff
  worker.Pump();
  EXPECT_EQ(provider.Sent().size(), 2u);
}

TEST(PushWorker, RetryAfterLongerThanTheBackoffIsHonoured) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("tok",
                  {Retriable(std::chrono::milliseconds(30'000)), {Kind::kDelivered, 200, "", {}}});
  testing::WorkerRig rig(provider, clock, SmallOptions());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t", "ios", "tok")).ok());
  rig.worker().Pump();
  clock.Advance(29'999);
  rig.worker().Pump();
  EXPECT_EQ(provider.Sent().size(), 1u);
  clock.Advance(1);
  rig.worker().Pump();
  EXPECT_EQ(provider.Sent().size(), 2u);
}

TEST(PushWorker, RejectedAndProviderlessTasksAreDeadLetteredAtOnce) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("bad", {{Kind::kRejected, 400, "PayloadTooLarge", {}}});
  testing::WorkerRig rig(provider, clock, SmallOptions());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t1", "ios", "bad")).ok());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t2", "none", "tok")).ok());
  rig.worker().Pump();
  auto letters = rig.PublishedDeadLetters();
  ASSERT_EQ(letters.size(), 2u);
  std::map<std::string, push::v1::PushDeadLetter> by_task;
  for (const auto& l : letters) by_task[l.task().task_id()] = l;
  EXPECT_EQ(by_task["t1"].reason(), "PayloadTooLarge");
  EXPECT_EQ(by_task["t1"].http_status(), 400);
  EXPECT_EQ(by_task["t1"].failed_ms(), clock.NowMs());
  EXPECT_NE(by_task["t2"].reason().find("no push provider"), std::string::npos);
  EXPECT_EQ(provider.Sent().size(), 1u);  // t2 never reached a provider
  EXPECT_EQ(rig.worker().Queued(), 0u);
  EXPECT_EQ(rig.worker().StatsOf("acme").dead_lettered, 2);
  EXPECT_EQ(rig.worker().RecentDeadLetters().size(), 2u);
}

TEST(PushWorker, ConcurrencyIsBoundedByMaxInFlight) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Hold(true);
  PushWorkerOptions o = SmallOptions();
  o.max_in_flight = 2;
  testing::WorkerRig rig(provider, clock, o);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(rig.worker().Submit(MakeTask("t" + std::to_string(i), "ios", "tok")).ok());
  }
  rig.worker().Pump();
  EXPECT_EQ(provider.Sent().size(), 2u);
  EXPECT_EQ(rig.worker().InFlight(), 2u);
  EXPECT_EQ(rig.worker().Queued(), 3u);
  provider.ReleaseAll();
  rig.worker().Pump();
  EXPECT_EQ(provider.Sent().size(), 4u);
  provider.Hold(false);
  provider.ReleaseAll();
  rig.worker().Pump();
  EXPECT_EQ(rig.worker().StatsOf("acme").sent, 5);
}

TEST(PushWorker, FullQueueRefusesAndStopDeadLettersWhatIsQueued) {
  ManualClock clock;
  ScriptedProvider provider;
  PushWorkerOptions o = SmallOptions();
  o.max_queued = 2;
  testing::WorkerRig rig(provider, clock, o);
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t1", "ios", "tok")).ok());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t2", "ios", "tok")).ok());
  Status full = rig.worker().Submit(MakeTask("t3", "ios", "tok"));
  EXPECT_EQ(full.code(), Code::kUnavailable);
  rig.worker().Stop();
  EXPECT_EQ(rig.worker().Submit(MakeTask("t4", "ios", "tok")).code(), Code::kUnavailable);
  EXPECT_EQ(rig.PublishedDeadLetters().size(), 2u);
  EXPECT_TRUE(provider.Sent().empty());
}

// A device store that notes which thread disabled a token.
class ThreadNotingDevices final : public testing::ForwardingDeviceStore {
 public:
  Status DisableToken(const std::string& t, const std::string& platform, const std::string& token,
                      const std::string& reason) override {
    std::lock_guard lock(mu_);
    disabled_on_.push_back(std::this_thread::get_id());
    return ForwardingDeviceStore::DisableToken(t, platform, token, reason);
  }
  std::vector<std::thread::id> DisabledOn() const {
    std::lock_guard lock(mu_);
    return disabled_on_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::thread::id> disabled_on_;
};

// The provider's thread (libcurl's, shared by every provider) only hands the
// answer over: a slow device store or broker must not stall other sends.
TEST(PushWorker, TokenDisablingAndDeadLettersRunOffTheProviderThread) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("gone", {{Kind::kTokenInvalid, 410, "Unregistered", {}}});
  provider.Script("bad", {{Kind::kRejected, 400, "BadTopic", {}}});
  provider.Hold(true);
  ThreadNotingDevices devices;
  testing::FixedRandom random;
  PushWorker worker(provider, &devices, nullptr, clock, random, nullptr, SmallOptions());
  ASSERT_TRUE(worker.Submit(MakeTask("t1", "ios", "gone")).ok());
  ASSERT_TRUE(worker.Submit(MakeTask("t2", "ios", "bad")).ok());
  worker.Pump();
  std::thread provider_thread([&] { provider.ReleaseAll(); });
  provider_thread.join();
  EXPECT_TRUE(devices.DisabledOn().empty()) << "disabled on the provider's thread";
  EXPECT_TRUE(worker.RecentDeadLetters().empty()) << "dead-lettered on the provider's thread";
  EXPECT_EQ(worker.InFlight(), 0u);  // the sends themselves are over

  worker.Pump();
  ASSERT_EQ(devices.DisabledOn().size(), 1u);
  EXPECT_EQ(devices.DisabledOn()[0], std::this_thread::get_id());
  EXPECT_EQ(worker.RecentDeadLetters().size(), 1u);
  EXPECT_EQ(worker.StatsOf("acme").token_disabled, 1);
  EXPECT_EQ(worker.StatsOf("acme").dead_lettered, 1);
}

// Stop runs the follow-ups of the last answers before it returns.
TEST(PushWorker, StopRunsTheFollowUpsOfTheLastAnswers) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("bad", {{Kind::kRejected, 400, "BadTopic", {}}});
  provider.Hold(true);
  testing::WorkerRig rig(provider, clock, SmallOptions());
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t1", "ios", "bad")).ok());
  rig.worker().Pump();
  provider.ReleaseAll();
  rig.worker().Stop();
  EXPECT_EQ(rig.PublishedDeadLetters().size(), 1u);
}

// A provider that answers only once Stop stopped waiting for it (its own
// close fails what it held) still gets its dead letter out.
TEST(PushWorker, AnAnswerAfterStopGaveUpWaitingIsStillDeadLettered) {
  ManualClock clock;
  ScriptedProvider provider;
  provider.Script("bad", {{Kind::kRejected, 400, "BadTopic", {}}});
  provider.Hold(true);
  PushWorkerOptions o = SmallOptions();
  o.send_timeout_ms = 0;  // Stop waits 1 s for the send in flight, then gives up
  testing::WorkerRig rig(provider, clock, o);
  ASSERT_TRUE(rig.worker().Submit(MakeTask("t1", "ios", "bad")).ok());
  rig.worker().Pump();
  rig.worker().Stop();
  EXPECT_EQ(rig.worker().InFlight(), 1u);
  provider.ReleaseAll();
  EXPECT_EQ(rig.PublishedDeadLetters().size(), 1u);
  EXPECT_EQ(rig.worker().StatsOf("acme").dead_lettered, 1);
}

TEST(PushWorker, ConsumesTasksFromTheBus) {
  ManualClock clock;
  ScriptedProvider provider;
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("flare.im.push.tasks", 4).ok());
  testing::FixedRandom random;
  PushWorker worker(provider, nullptr, nullptr, clock, random, nullptr, SmallOptions());
  worker.Start();
  PushTaskConsumer consumer(bus, worker, "flare.im.push.tasks", "flare-push-worker");
  ASSERT_TRUE(consumer.Start().ok());
  auto producer = std::move(bus.CreateProducer()).value();
  for (int i = 0; i < 10; ++i) {
    auto task = MakeTask("t" + std::to_string(i), "android", "tok" + std::to_string(i));
    ASSERT_TRUE(producer
                    ->Publish("flare.im.push.tasks", "acme/" + task.user_id(),
                              task.SerializeAsString(), [](Status) {})
                    .ok());
  }
  ASSERT_TRUE(
      producer->Publish("flare.im.push.tasks", "x", "\xff\xff not a task", [](Status) {}).ok());
  ASSERT_TRUE(Eventually([&] { return worker.StatsOf("acme").sent == 10; }));
  ASSERT_TRUE(Eventually([&] { return consumer.Undecodable() == 1; }));
  consumer.Stop();
  worker.Stop();
  // Everything was committed: a new consumer of the group gets nothing again.
  // Declared first: the consumer tells its listener of the revocation when it
  // is destroyed, so the listener must outlive it.
  struct : BusConsumerListener {
    void OnAssigned(const std::vector<int32_t>&) override {}
    void OnRevoked(const std::vector<int32_t>&) override {}
  } listener;
  auto again = std::move(bus.CreateConsumer("flare-push-worker")).value();
  ASSERT_TRUE(again->Subscribe("flare.im.push.tasks", &listener).ok());
  EXPECT_TRUE(again->Poll(100, 0).value().empty());
}

// On the in-process bus, stopping with a drain hands the worker the tasks
// still on the topic instead of leaving them to vanish with the process.
TEST(PushWorker, AStopWithADrainHandsTheWorkerWhatIsOnTheBus) {
  ManualClock clock;
  ScriptedProvider provider;
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("flare.im.push.tasks", 1).ok());
  testing::FixedRandom random;
  PushWorkerOptions o = SmallOptions();
  o.max_queued = 1;
  PushWorker worker(provider, nullptr, nullptr, clock, random, nullptr, o);
  ASSERT_TRUE(worker.Submit(MakeTask("first", "android", "tok")).ok());  // the queue is full
  PushTaskConsumer consumer(bus, worker, "flare.im.push.tasks", "flare-push-worker");
  ASSERT_TRUE(consumer.Start().ok());
  auto producer = std::move(bus.CreateProducer()).value();
  for (int i = 0; i < 5; ++i) {
    auto task = MakeTask("t" + std::to_string(i), "android", "tok");
    ASSERT_TRUE(
        producer->Publish("flare.im.push.tasks", "k", task.SerializeAsString(), [](Status) {})
            .ok());
  }
  std::thread stopper([&] { consumer.Stop(/*drain_ms=*/60'000); });
  // The worker frees its one slot per pump; the draining consumer refills it.
  EXPECT_TRUE(Eventually([&] {
    worker.Pump();
    return worker.StatsOf("acme").sent == 6;
  })) << testing::StatsText(worker);
  stopper.join();
}

TEST(PushProviders, AnswersAreClassified) {
  HttpResponse r;
  r.status = 400;
  r.body = R"({"reason":"BadDeviceToken"})";
  EXPECT_EQ(ClassifyApnsResponse(r).kind, Kind::kTokenInvalid);
  r.body = R"({"reason":"BadCollapseId"})";
  EXPECT_EQ(ClassifyApnsResponse(r).kind, Kind::kRejected);
  r.status = 403;
  r.body = R"({"reason":"InvalidProviderToken"})";
  EXPECT_EQ(ClassifyApnsResponse(r).kind, Kind::kRejected);
  r.body = R"({"reason":"ExpiredProviderToken"})";
  EXPECT_EQ(ClassifyApnsResponse(r).kind, Kind::kRetriable);
  r.status = 429;
  r.headers["retry-after"] = "7";
  auto limited = ClassifyApnsResponse(r);
  EXPECT_EQ(limited.kind, Kind::kRetriable);
  EXPECT_EQ(limited.retry_after, std::chrono::milliseconds(7'000));
  HttpResponse down;
  down.transport = Unavailable("connection refused");
  EXPECT_EQ(ClassifyApnsResponse(down).kind, Kind::kRetriable);
  EXPECT_EQ(ClassifyFcmResponse(down).kind, Kind::kRetriable);

  HttpResponse f;
  f.status = 400;
  f.body = R"({"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad",
    "details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations":[{"field":"message.token","description":"Invalid"}]}]}})";
  EXPECT_EQ(ClassifyFcmResponse(f).kind, Kind::kTokenInvalid);
  f.body = R"({"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad ttl"}})";
  EXPECT_EQ(ClassifyFcmResponse(f).kind, Kind::kRejected);
  f.status = 503;
  f.body = "{}";
  EXPECT_EQ(ClassifyFcmResponse(f).kind, Kind::kRetriable);
}

TEST(PushConfig, ProviderTablesPerTenantOverTheDefaults) {
  testing::TempDir dir;
  std::string path = dir.Write("flare.toml", R"(
[push.worker]
max_attempts = 7
[push.providers.apns]
endpoint = "https://api.push.apple.com"
team_id = "TEAM"
priority = 5
[push.tenants.beta.apns]
team_id = "BETA"
)");
  auto config = LoadConfig(path, {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config.value().push_worker_max_attempts, 7);
  auto beta = config.value().push_providers.For("beta", "apns");
  ASSERT_TRUE(beta);
  EXPECT_EQ(beta->at("team_id"), "BETA");
  EXPECT_EQ(beta->at("priority"), "5");
  EXPECT_EQ(config.value().push_providers.For("acme", "apns")->at("team_id"), "TEAM");
  EXPECT_FALSE(config.value().push_providers.For("acme", "fcm"));

  std::string bad = dir.Write("bad.toml", "[push.tenants.beta.apns]\nteam = \"x\"\n");
  auto refused = LoadConfig(bad, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("push.tenants.beta.apns.team"), std::string::npos);
  std::string unknown = dir.Write("unknown.toml", "[push.providers.mipush]\nurl = \"x\"\n");
  EXPECT_FALSE(LoadConfig(unknown, {}).ok());
}

}  // namespace
}  // namespace flare
