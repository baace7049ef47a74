// HookSettings on the memory SettingsStore with a ManualClock: several
// HookSettings on one store stand for the processes of a deployment, each
// with its own HookEngine. Nothing here calls a hook; the engines' hook
// lists are what is checked. Also the hook list's document encoding.
#include "services/hooks/hook_settings.h"

#include <gtest/gtest.h>

#include <functional>

#include "adapters/memory/memory_hook_dead_letters.h"
#include "adapters/memory/memory_settings_store.h"
#include "services/hooks/hook_list_codec.h"

namespace flare {
namespace {

// Answers every call at once with an error (no hook is called here).
class RefusingTransport final : public HookTransport {
 public:
  void Call(const HookTarget&, HookRequest, Deadline, HookCallback done) override {
    HookCallResult result;
    result.status = Unavailable("no transport in this test");
    done(std::move(result));
  }
  void Close() override {}
};

HookConfig Hook(const std::string& name, const std::string& point = "pre_send") {
  HookConfig h;
  h.name = name;
  h.point = point;
  h.url = "https://biz.example/" + name;
  h.secret = "a-secret-of-16-bytes-or-more";
  return h;
}

std::vector<std::string> Names(const std::vector<HookConfig>& hooks) {
  std::vector<std::string> names;
  for (const auto& h : hooks) names.push_back(h.name);
  return names;
}

// One process of the deployment: an engine with its config's hooks and
// the HookSettings over the shared store.
struct Process {
  Process(SettingsStore& store, const Clock& clock, std::vector<HookConfig> config_hooks,
          int max_save_attempts = 8)
      : engine(transport, dead_letters, clock, nullptr),
        settings(store, engine, clock,
                 HookSettingsOptions{.reload_interval_ms = 2'000,
                                     .max_save_attempts = max_save_attempts}) {
    EXPECT_TRUE(engine.Configure(config_hooks).ok());
  }
  std::vector<std::string> hooks() const { return Names(engine.Hooks()); }

  RefusingTransport transport;
  MemoryHookDeadLetters dead_letters;
  HookEngine engine;
  HookSettings settings;
};

// A store that lets `before_put` run once before the next Puts, as if
// another process saved between this one's read and its write.
class RacedStore final : public SettingsStore {
 public:
  explicit RacedStore(SettingsStore& inner) : inner_(inner) {}
  Result<VersionedDocument> Get(const std::string& key) override { return inner_.Get(key); }
  Result<int64_t> Put(const std::string& key, int64_t expected, const std::string& value) override {
    ++puts;
    if (races > 0) {
      --races;
      before_put();
    }
    return inner_.Put(key, expected, value);
  }
  int races = 0;
  int puts = 0;
  std::function<void()> before_put;

 private:
  SettingsStore& inner_;
};

class HookSettingsTest : public ::testing::Test {
 protected:
  MemorySettingsStore store_;
  ManualClock clock_;
};

TEST_F(HookSettingsTest, WithNothingSavedTheConfigHooksStay) {
  Process p(store_, clock_, {Hook("from-config")});
  ASSERT_TRUE(p.settings.Load().ok());
  EXPECT_EQ(p.hooks(), std::vector<std::string>{"from-config"});
  EXPECT_EQ(p.settings.applied_version(), 0);
  clock_.Advance(2'000);
  ASSERT_TRUE(p.settings.Poll().ok());
  EXPECT_EQ(p.hooks(), std::vector<std::string>{"from-config"});
}

TEST_F(HookSettingsTest, APutReachesAnotherProcessOnItsNextPoll) {
  Process a(store_, clock_, {Hook("from-config")});
  Process b(store_, clock_, {Hook("other-config")});
  ASSERT_TRUE(a.settings.Load().ok());
  ASSERT_TRUE(b.settings.Load().ok());

  auto replaced = a.settings.PutHook(Hook("added", "post_send"));
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_FALSE(*replaced);
  // The first save starts from the saving process's list.
  EXPECT_EQ(a.hooks(), (std::vector<std::string>{"from-config", "added"}));
  EXPECT_EQ(a.settings.applied_version(), 1);

  // Not before the reload interval passed on the clock.
  clock_.Advance(1'999);
  ASSERT_TRUE(b.settings.Poll().ok());
  EXPECT_EQ(b.hooks(), std::vector<std::string>{"other-config"});
  clock_.Advance(1);
  ASSERT_TRUE(b.settings.Poll().ok());
  EXPECT_EQ(b.hooks(), (std::vector<std::string>{"from-config", "added"}));
  EXPECT_EQ(b.settings.applied_version(), 1);

  // Every field travels: b runs a's hook as a saved it.
  HookConfig changed = Hook("added", "post_send");
  changed.tenants = {"acme", "globex"};
  changed.conversation_types = {"group"};
  changed.message_types = {"text", "image"};
  changed.priority = 7;
  changed.timeout_ms = 2'500;
  changed.failure_policy = "fail_closed";
  changed.max_concurrency = 3;
  changed.max_attempts = 9;
  changed.backoff_ms = 1'234;
  replaced = a.settings.PutHook(changed);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(*replaced);
  clock_.Advance(2'000);
  ASSERT_TRUE(b.settings.Poll().ok());
  auto hooks = b.engine.Hooks();
  ASSERT_EQ(hooks.size(), 2u);
  const HookConfig& got = hooks[0];  // priority 7 runs first
  EXPECT_EQ(got.name, "added");
  EXPECT_EQ(got.secret, changed.secret);
  EXPECT_EQ(got.tenants, changed.tenants);
  EXPECT_EQ(got.message_types, changed.message_types);
  EXPECT_EQ(got.backoff_ms, 1'234);
  EXPECT_TRUE(got.fail_closed());

  ASSERT_TRUE(b.settings.DeleteHook("from-config").ok());
  clock_.Advance(2'000);
  ASSERT_TRUE(a.settings.Poll().ok());
  EXPECT_EQ(a.hooks(), std::vector<std::string>{"added"});
  EXPECT_EQ(a.settings.applied_version(), 3);
}

TEST_F(HookSettingsTest, AStoredListReplacesTheConfigHooksAtStart) {
  Process first(store_, clock_, {Hook("old")});
  ASSERT_TRUE(first.settings.Load().ok());
  ASSERT_TRUE(first.settings.DeleteHook("old").ok());
  ASSERT_TRUE(first.settings.PutHook(Hook("new")).ok());

  Process restarted(store_, clock_, {Hook("old")});
  ASSERT_TRUE(restarted.settings.Load().ok());
  EXPECT_EQ(restarted.hooks(), std::vector<std::string>{"new"});
  EXPECT_EQ(restarted.settings.applied_version(), 2);
}

TEST_F(HookSettingsTest, ASaveThatLosesTheRaceReadsAgainAndKeepsBothChanges) {
  RacedStore raced(store_);
  Process a(store_, clock_, {});
  Process b(raced, clock_, {});
  raced.races = 1;
  raced.before_put = [&] { ASSERT_TRUE(a.settings.PutHook(Hook("by-a")).ok()); };

  ASSERT_TRUE(b.settings.PutHook(Hook("by-b")).ok());
  EXPECT_EQ(raced.puts, 2);  // the first lost to a's save
  EXPECT_EQ(b.hooks(), (std::vector<std::string>{"by-a", "by-b"}));
  auto stored = store_.Get("hooks");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version, 2);
  auto decoded = DecodeHookList(stored->value);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(Names(*decoded), (std::vector<std::string>{"by-a", "by-b"}));
}

TEST_F(HookSettingsTest, ASaveThatKeepsLosingIsAbortedAndChangesNothingHere) {
  RacedStore raced(store_);
  Process a(store_, clock_, {});
  Process b(raced, clock_, {}, /*max_save_attempts=*/3);
  int n = 0;
  raced.races = 100;
  raced.before_put = [&] { ASSERT_TRUE(a.settings.PutHook(Hook("a" + std::to_string(n++))).ok()); };

  auto put = b.settings.PutHook(Hook("by-b"));
  EXPECT_EQ(put.status().code(), Code::kAborted);
  EXPECT_EQ(raced.puts, 3);
  EXPECT_TRUE(b.hooks().empty());
}

TEST_F(HookSettingsTest, AnInvalidHookIsRefusedAndNothingIsSaved) {
  Process a(store_, clock_, {Hook("kept")});
  HookConfig bad = Hook("bad");
  bad.timeout_ms = 0;
  auto put = a.settings.PutHook(bad);
  EXPECT_EQ(put.status().code(), Code::kInvalidArgument);
  EXPECT_NE(put.status().message().find("timeout_ms"), std::string::npos) << put.status().message();
  EXPECT_EQ(a.settings.DeleteHook("missing").code(), Code::kNotFound);
  EXPECT_EQ(a.hooks(), std::vector<std::string>{"kept"});
  EXPECT_EQ(store_.Get("hooks")->version, 0);
}

TEST_F(HookSettingsTest, AnUndecodableListLeavesTheEngineAsItWasAndIsReported) {
  Process a(store_, clock_, {});
  Process b(store_, clock_, {});
  ASSERT_TRUE(a.settings.PutHook(Hook("good")).ok());
  clock_.Advance(2'000);
  ASSERT_TRUE(b.settings.Poll().ok());
  ASSERT_EQ(b.hooks(), std::vector<std::string>{"good"});

  ASSERT_TRUE(store_.Put("hooks", 1, "{\"hooks\": [{\"name\": 5}]").ok());
  clock_.Advance(2'000);
  Status polled = b.settings.Poll();
  EXPECT_EQ(polled.code(), Code::kInvalidArgument);
  EXPECT_NE(polled.message().find("version 2"), std::string::npos) << polled.message();
  EXPECT_EQ(b.settings.last_error().code(), Code::kInvalidArgument);
  EXPECT_EQ(b.hooks(), std::vector<std::string>{"good"});
  EXPECT_EQ(b.settings.applied_version(), 1);

  // A list that decodes but does not validate is refused the same way.
  HookConfig bad = Hook("bad");
  bad.point = "pre_chat";
  ASSERT_TRUE(store_.Put("hooks", 2, EncodeHookList({bad})).ok());
  clock_.Advance(2'000);
  EXPECT_EQ(b.settings.Poll().code(), Code::kInvalidArgument);
  EXPECT_EQ(b.hooks(), std::vector<std::string>{"good"});

  // A save through the admin API repairs it, from what runs there.
  ASSERT_TRUE(store_.Put("hooks", 3, "not json").ok());
  ASSERT_TRUE(a.settings.PutHook(Hook("repair")).ok());
  clock_.Advance(2'000);
  ASSERT_TRUE(b.settings.Poll().ok());
  EXPECT_EQ(b.hooks(), (std::vector<std::string>{"good", "repair"}));
  EXPECT_TRUE(b.settings.last_error().ok());

  // At start an undecodable list is an error; the config's hooks stay.
  ASSERT_TRUE(store_.Put("hooks", 5, "[]").ok());
  Process c(store_, clock_, {Hook("from-config")});
  EXPECT_EQ(c.settings.Load().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.hooks(), std::vector<std::string>{"from-config"});
}

TEST(HookListCodec, EveryFieldRoundTrips) {
  HookConfig h = Hook("full", "post_conversation");
  h.url = "grpc://127.0.0.1:9000";
  h.tenants = {"t1"};
  h.conversation_types = {"group", "channel"};
  h.message_types = {"custom"};
  h.priority = -3;
  h.timeout_ms = 60'000;
  h.failure_policy = "fail_closed";
  h.max_concurrency = 1;
  h.max_attempts = 2;
  h.backoff_ms = 3;
  auto decoded = DecodeHookList(EncodeHookList({h, Hook("plain")}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 2u);
  const HookConfig& d = (*decoded)[0];
  EXPECT_EQ(d.name, h.name);
  EXPECT_EQ(d.point, h.point);
  EXPECT_EQ(d.url, h.url);
  EXPECT_EQ(d.secret, h.secret);
  EXPECT_EQ(d.tenants, h.tenants);
  EXPECT_EQ(d.conversation_types, h.conversation_types);
  EXPECT_EQ(d.message_types, h.message_types);
  EXPECT_EQ(d.priority, h.priority);
  EXPECT_EQ(d.timeout_ms, h.timeout_ms);
  EXPECT_EQ(d.failure_policy, h.failure_policy);
  EXPECT_EQ(d.max_concurrency, h.max_concurrency);
  EXPECT_EQ(d.max_attempts, h.max_attempts);
  EXPECT_EQ(d.backoff_ms, h.backoff_ms);
  EXPECT_EQ((*decoded)[1].name, "plain");
  auto empty = DecodeHookList(EncodeHookList({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HookListCodec, AMalformedDocumentIsAnErrorNamingWhatIsWrong) {
  struct Case {
    const char* document;
    const char* names;
  } cases[] = {
      {"", "not valid JSON"},
      {"{\"hooks\": [", "not valid JSON"},
      {"[]", "no \"hooks\" array"},
      {"{\"hooks\": {}}", "no \"hooks\" array"},
      {"{\"hooks\": [3]}", "hooks[0] is not an object"},
      {"{\"hooks\": [{\"name\": \"a\", \"colour\": \"red\"}]}", "unknown key 'colour'"},
      {"{\"hooks\": [{}, {\"timeout_ms\": \"10\"}]}", "hooks[1].timeout_ms"},
      {"{\"hooks\": [{\"tenants\": [\"a\", 1]}]}", "hooks[0].tenants"},
      {"{\"hooks\": [{\"priority\": 1.5}]}", "hooks[0].priority"},
  };
  for (const auto& c : cases) {
    auto decoded = DecodeHookList(c.document);
    ASSERT_FALSE(decoded.ok()) << c.document;
    EXPECT_EQ(decoded.status().code(), Code::kInvalidArgument) << c.document;
    EXPECT_NE(decoded.status().message().find(c.names), std::string::npos)
        << c.document << " -> " << decoded.status().message();
  }
}

}  // namespace
}  // namespace flare
