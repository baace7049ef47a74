// push-proxy's PushApi on in-memory stores and a manual clock: checks,
// templates, one task per enabled device, scheduled pushes that fire when
// the clock says so (and only once), statistics from push-worker.
#include "services/push/proxy/push_api.h"

#include <gtest/gtest.h>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/memory/memory_device_store.h"
#include "adapters/memory/memory_push_schedule_store.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

// The tasks PushApi hands on, in order; can be told to refuse.
class RecordingSink final : public PushTaskSink {
 public:
  Status Publish(std::span<const pv::PushTask> published) override {
    ++publish_calls;
    if (refuse) return Unavailable("bus down");
    tasks.insert(tasks.end(), published.begin(), published.end());
    return Status::Ok();
  }
  std::vector<pv::PushTask> tasks;
  bool refuse = false;
  int publish_calls = 0;
};

class FixedStats final : public PushStatsSource {
 public:
  Result<pv::PushStats> StatsOf(const std::string& tenant) override {
    pv::PushStats s;
    s.set_sent(tenant == "t1" ? 7 : 0);
    return s;
  }
};

class PushApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Register("alice", "phone", "ios", "tok-a1");
    Register("alice", "tablet", "android", "tok-a2");
    Register("bob", "phone", "webhook", "tok-b1");
  }
  void Register(const std::string& user, const std::string& device, const std::string& platform,
                const std::string& token) {
    pv::RegisterDeviceRequest r;
    r.set_user_id(user);
    r.set_device_id(device);
    r.set_platform(platform);
    r.set_token(token);
    r.set_locale("en-US");
    ASSERT_TRUE(api_.RegisterDevice("t1", r).ok());
  }
  static pv::PushRequest ToUsers(std::vector<std::string> users, std::string title) {
    pv::PushRequest r;
    for (auto& u : users) r.add_user_ids(std::move(u));
    r.set_title(std::move(title));
    r.set_body("body");
    return r;
  }

  ManualClock clock_;
  MemoryDeviceStore devices_;
  MemoryPushScheduleStore store_;
  RecordingSink sink_;
  FixedStats stats_;
  PushApi api_{devices_, store_, sink_, clock_, &stats_};
};

TEST_F(PushApiTest, APushToUsersMakesOneTaskPerEnabledDevice) {
  ASSERT_TRUE(devices_.DisableToken("t1", "android", "tok-a2", "Unregistered").ok());
  auto pr = ToUsers({"alice", "bob", "carol"}, "Hello");
  pr.set_badge(3);
  pr.set_collapse_id("news");
  (*pr.mutable_data())["k"] = "v";
  auto r = api_.Push("t1", pr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->scheduled());
  EXPECT_EQ(r->tasks(), 2);
  ASSERT_EQ(r->users_without_devices_size(), 1);
  EXPECT_EQ(r->users_without_devices(0), "carol");
  ASSERT_EQ(sink_.tasks.size(), 2u);
  std::set<std::string> tokens;
  for (const auto& t : sink_.tasks) {
    tokens.insert(t.token());
    EXPECT_EQ(t.tenant(), "t1");
    EXPECT_EQ(t.title(), "Hello");
    EXPECT_EQ(t.badge(), 3);
    EXPECT_EQ(t.collapse_id(), "news");
    EXPECT_EQ(t.source(), "api");
    EXPECT_EQ(t.data().at("k"), "v");
    EXPECT_EQ(t.data().at("push_id"), r->push_id());
    EXPECT_FALSE(t.task_id().empty());
  }
  EXPECT_EQ(tokens, (std::set<std::string>{"tok-a1", "tok-b1"}));
}

TEST_F(PushApiTest, APushToNamedDevicesReachesOnlyThose) {
  pv::PushRequest pr;
  auto* d = pr.add_devices();
  d->set_user_id("alice");
  d->set_device_id("tablet");
  pr.set_body("only the tablet");
  auto r = api_.Push("t1", pr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(sink_.tasks.size(), 1u);
  EXPECT_EQ(sink_.tasks[0].device_id(), "tablet");
  EXPECT_EQ(sink_.tasks[0].platform(), "android");
}

TEST_F(PushApiTest, TenantsDoNotSeeEachOthersDevicesOrTemplates) {
  auto r = api_.Push("t2", ToUsers({"alice"}, "Hello"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tasks(), 0);
  EXPECT_TRUE(sink_.tasks.empty());
  pv::PushTemplate t;
  t.set_name("welcome");
  t.set_title("Hi");
  ASSERT_TRUE(api_.PutTemplate("t1", t).ok());
  pv::PushRequest pr = ToUsers({"alice"}, "");
  pr.clear_body();
  pr.set_template_name("welcome");
  EXPECT_EQ(api_.Push("t2", pr).status().code(), Code::kNotFound);
}

TEST_F(PushApiTest, BadRequestsAreRefusedWithAReason) {
  EXPECT_EQ(api_.Push("t1", pv::PushRequest()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(api_.Push("t1", ToUsers({"bad user"}, "x")).status().code(), Code::kInvalidArgument);
  auto both = ToUsers({"alice"}, "x");
  both.set_template_name("welcome");
  EXPECT_EQ(api_.Push("t1", both).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(api_.Push("t1", ToUsers({"alice"}, std::string(300, 'x'))).status().code(),
            Code::kInvalidArgument);
  auto far = ToUsers({"alice"}, "x");
  far.set_send_at_ms(clock_.NowMs() + 31LL * 24 * 3600 * 1000);
  EXPECT_EQ(api_.Push("t1", far).status().code(), Code::kInvalidArgument);
  std::vector<std::string> many(1001, "alice");
  EXPECT_EQ(api_.Push("t1", ToUsers(many, "x")).status().code(), Code::kInvalidArgument);
  pv::RegisterDeviceRequest bad;
  bad.set_user_id("alice");
  bad.set_device_id("pager");
  bad.set_platform("pager");
  bad.set_token("t");
  EXPECT_EQ(api_.RegisterDevice("t1", bad).code(), Code::kInvalidArgument);
  EXPECT_TRUE(sink_.tasks.empty());
}

TEST_F(PushApiTest, TemplatesAreFilledFromTheRequestsVariables) {
  pv::PushTemplate t;
  t.set_name("order");
  t.set_title("Order {{ id }} shipped");
  t.set_body("Hi {{name}}, order {{id}} is on its way");
  ASSERT_TRUE(api_.PutTemplate("t1", t).ok());
  pv::PushRequest pr;
  pr.add_user_ids("bob");
  pr.set_template_name("order");
  (*pr.mutable_variables())["id"] = "42";
  (*pr.mutable_variables())["name"] = "Bob";
  auto r = api_.Push("t1", pr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(sink_.tasks.size(), 1u);
  EXPECT_EQ(sink_.tasks[0].title(), "Order 42 shipped");
  EXPECT_EQ(sink_.tasks[0].body(), "Hi Bob, order 42 is on its way");

  pr.mutable_variables()->erase("name");
  auto missing = api_.Push("t1", pr);
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("'name'"), std::string::npos);
  EXPECT_EQ(sink_.tasks.size(), 1u);
}

TEST(PushTemplate, PlaceholdersMustBeClosed) {
  EXPECT_EQ(RenderPushTemplate("a {{b", {{"b", "x"}}).status().code(), Code::kInvalidArgument);
  auto r = RenderPushTemplate("{{a}}{{a}} and {{b}}", {{"a", "1"}, {"b", "{{a}}"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "11 and {{a}}");  // values are not expanded again
}

TEST_F(PushApiTest, AScheduledPushFiresOnceWhenItsTimeComes) {
  auto pr = ToUsers({"bob"}, "Later");
  pr.set_send_at_ms(clock_.NowMs() + 60'000);
  auto r = api_.Push("t1", pr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->scheduled());
  auto listed = api_.ListScheduled("t1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].push_id(), r->push_id());

  clock_.Advance(59'999);
  ASSERT_EQ(api_.FireDue().value(), 0u);
  EXPECT_TRUE(sink_.tasks.empty());

  clock_.Advance(1);
  ASSERT_EQ(api_.FireDue().value(), 1u);
  ASSERT_EQ(sink_.tasks.size(), 1u);
  EXPECT_EQ(sink_.tasks[0].title(), "Later");
  EXPECT_EQ(sink_.tasks[0].data().at("push_id"), r->push_id());
  ASSERT_EQ(api_.FireDue().value(), 0u);
  EXPECT_EQ(sink_.tasks.size(), 1u);
  EXPECT_TRUE(api_.ListScheduled("t1")->empty());
}

TEST_F(PushApiTest, AScheduledPushThatCouldNotBeHandedOnIsTriedAgain) {
  auto pr = ToUsers({"bob"}, "Later");
  pr.set_send_at_ms(clock_.NowMs() + 1'000);
  ASSERT_TRUE(api_.Push("t1", pr).ok());
  clock_.Advance(1'000);
  sink_.refuse = true;
  ASSERT_EQ(api_.FireDue().value(), 0u);
  sink_.refuse = false;
  ASSERT_EQ(api_.FireDue().value(), 0u) << "put back 30 s ahead, behind what is due now";
  clock_.Advance(30'000);
  ASSERT_EQ(api_.FireDue().value(), 1u);
  EXPECT_EQ(sink_.tasks.size(), 1u);
}

TEST_F(PushApiTest, ARoundEndsAtTheFirstPushTheBusRefuses) {
  for (int i = 0; i < 3; ++i) {
    auto pr = ToUsers({"bob"}, "Later " + std::to_string(i));
    pr.set_send_at_ms(clock_.NowMs() + 1'000 + i);
    ASSERT_TRUE(api_.Push("t1", pr).ok());
  }
  clock_.Advance(1'010);
  sink_.refuse = true;
  ASSERT_EQ(api_.FireDue().value(), 0u);
  EXPECT_EQ(sink_.publish_calls, 1) << "one wait for a refusing bus per round";
  sink_.refuse = false;
  ASSERT_EQ(api_.FireDue().value(), 2u);  // the two not tried yet
  clock_.Advance(30'000);
  ASSERT_EQ(api_.FireDue().value(), 1u);  // the one put back
  EXPECT_EQ(sink_.tasks.size(), 3u);
}

TEST_F(PushApiTest, ACancelledPushNeverFires) {
  auto pr = ToUsers({"bob"}, "Later");
  pr.set_send_at_ms(clock_.NowMs() + 1'000);
  auto r = api_.Push("t1", pr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(api_.CancelScheduled("t2", r->push_id()).code(), Code::kNotFound);
  ASSERT_TRUE(api_.CancelScheduled("t1", r->push_id()).ok());
  clock_.Advance(2'000);
  ASSERT_EQ(api_.FireDue().value(), 0u);
  EXPECT_TRUE(sink_.tasks.empty());
  EXPECT_EQ(api_.CancelScheduled("t1", r->push_id()).code(), Code::kNotFound);
}

TEST_F(PushApiTest, AScheduledTemplatePushKeepsTheTextItWasGiven) {
  pv::PushTemplate t;
  t.set_name("promo");
  t.set_title("Sale {{pct}}%");
  ASSERT_TRUE(api_.PutTemplate("t1", t).ok());
  pv::PushRequest pr;
  pr.add_user_ids("bob");
  pr.set_template_name("promo");
  (*pr.mutable_variables())["pct"] = "20";
  pr.set_send_at_ms(clock_.NowMs() + 1'000);
  ASSERT_TRUE(api_.Push("t1", pr).ok());
  t.set_title("changed");
  ASSERT_TRUE(api_.PutTemplate("t1", t).ok());
  clock_.Advance(1'000);
  ASSERT_EQ(api_.FireDue().value(), 1u);
  ASSERT_EQ(sink_.tasks.size(), 1u);
  EXPECT_EQ(sink_.tasks[0].title(), "Sale 20%");
}

TEST_F(PushApiTest, StatsComeFromPushWorker) {
  auto s = api_.Stats("t1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent(), 7);
  PushApi without(devices_, store_, sink_, clock_, nullptr);
  EXPECT_EQ(without.Stats("t1").status().code(), Code::kUnavailable);
}

TEST_F(PushApiTest, TwoProxiesSharingAStoreSendAScheduledPushOnce) {
  auto pr = ToUsers({"bob"}, "Once");
  pr.set_send_at_ms(clock_.NowMs() + 1'000);
  ASSERT_TRUE(api_.Push("t1", pr).ok());
  PushApi other(devices_, store_, sink_, clock_, nullptr);
  clock_.Advance(1'000);
  // Both read the push as due; the store's removal lets only one send it.
  auto due = store_.Due(clock_.NowMs(), 10);
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(store_.RemoveScheduled("t1", (*due)[0].push_id).ok());
  ASSERT_EQ(other.FireDue().value(), 0u);
  ASSERT_TRUE(store_.AddScheduled((*due)[0]).ok());
  ASSERT_EQ(other.FireDue().value(), 1u);
  ASSERT_EQ(api_.FireDue().value(), 0u);
  EXPECT_EQ(sink_.tasks.size(), 1u);
}

class NoListener final : public BusConsumerListener {
 public:
  void OnAssigned(const std::vector<int32_t>&) override {}
  void OnRevoked(const std::vector<int32_t>&) override {}
};

TEST(BusPushTaskSink, EveryTaskIsOneRecordKeyedByTenantAndUser) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("flare.im.push.tasks", 4).ok());
  NoListener listener;
  auto consumer = bus.CreateConsumer("push-workers");
  ASSERT_TRUE((*consumer)->Subscribe("flare.im.push.tasks", &listener).ok());
  auto producer = bus.CreateProducer();
  BusPushTaskSink sink(**producer, "flare.im.push.tasks");
  std::vector<pv::PushTask> tasks(3);
  for (int i = 0; i < 3; ++i) {
    tasks[i].set_tenant("t1");
    tasks[i].set_user_id("u" + std::to_string(i));
    tasks[i].set_task_id("task" + std::to_string(i));
  }
  ASSERT_TRUE(sink.Publish(tasks).ok());
  auto records = (*consumer)->Poll(10, 0);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3u);
  std::set<std::string> keys, ids;
  for (const auto& r : *records) {
    keys.insert(r.key);
    pv::PushTask task;
    ASSERT_TRUE(task.ParseFromString(r.value));
    ids.insert(task.task_id());
  }
  EXPECT_EQ(keys, (std::set<std::string>{"t1/u0", "t1/u1", "t1/u2"}));
  EXPECT_EQ(ids, (std::set<std::string>{"task0", "task1", "task2"}));
}

TEST(BusPushTaskSink, ATopicThatDoesNotExistIsAnError) {
  InProcessEventBus bus;
  auto producer = bus.CreateProducer();
  BusPushTaskSink sink(**producer, "missing");
  std::vector<pv::PushTask> tasks(1);
  EXPECT_FALSE(sink.Publish(tasks).ok());
}

}  // namespace
}  // namespace flare
