// The core end-to-end cases with `flare serve` on PostgreSQL (messages,
// conversations) and Redis (routes) that the test starts: idempotent sends,
// delivery, groups and offline sync, and acked messages surviving kill -9.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>

#include "common/ids.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::ServerProcess;

std::map<std::string, std::string> BackendEnv(const std::string& database,
                                              const testing::RedisServer& redis) {
  std::string error;
  testing::PostgresServer* pg = testing::SharedPostgres(&error);
  EXPECT_NE(pg, nullptr) << error;
  if (pg == nullptr) return {};
  auto dsn = pg->CreateDatabase(database);
  EXPECT_TRUE(dsn.ok()) << dsn.status().ToString();
  return {{"FLARE_STORAGE_BACKEND", "postgres"},
          {"FLARE_STORAGE_POSTGRES_DSN", dsn.ok() ? *dsn : ""},
          {"FLARE_PRESENCE_BACKEND", "redis"},
          {"FLARE_PRESENCE_REDIS_URL", redis.url()}};
}

using testing::TextTo;

TEST(E2eOnPostgresAndRedis, SendsGroupsAndSyncAcrossAKill) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  auto env = BackendEnv("e2e_core", redis);
  ASSERT_FALSE(env.empty());
  ServerProcess server(env);
  {
    FlareClient alice(server.Options("alice"));
    FlareClient bob(server.Options("bob"));
    Inbox bob_inbox(bob);
    ASSERT_TRUE(alice.Connect().ok());
    ASSERT_TRUE(bob.Connect().ok());
    for (int i = 1; i <= 40; ++i) {
      auto ack = alice.Send(TextTo("bob", "k" + std::to_string(i)));
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      EXPECT_EQ(ack->seq(), i);
    }
    auto again = alice.Send(TextTo("bob", "k7"));  // a retry: the same message
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->duplicate());
    EXPECT_EQ(again->seq(), 7);
    EXPECT_EQ(bob_inbox.WaitFor(40).size(), 40u);

    auto group = alice.Group(testing::CreateGroup({"bob", "carol"}));
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(alice.Send(testing::ToConversation(group->info().conversation_id(), "g")).ok());
    }
    FlareClient carol(server.Options("carol"));  // was offline: catches up by sync
    ASSERT_TRUE(carol.Connect().ok());
    auto page = carol.Sync(group->info().conversation_id(), 0, 100);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->messages_size(), 6);  // the membership event and five posts
  }
  server.Kill(SIGKILL);
  server.Restart();
  FlareClient bob(server.Options("bob"));
  ASSERT_TRUE(bob.Connect().ok());
  auto page = bob.Sync(SingleConversationId("alice", "bob"), 0, 100);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages_size(), 40);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(page->messages(i).seq(), i + 1);
    EXPECT_EQ(page->messages(i).client_msg_id(), "k" + std::to_string(i + 1));
  }
  auto next = bob.Send(TextTo("alice", "after-restart"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq(), 41);
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

// Routes in Redis outlive a killed server; the restarted server's sessions
// must not be mistaken for the dead one's.
TEST(E2eOnPostgresAndRedis, RoutesOfAKilledServerReachNobody) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  auto env = BackendEnv("e2e_routes", redis);
  ASSERT_FALSE(env.empty());
  ServerProcess server(env);
  {
    FlareClient bob(server.Options("bob"));
    ASSERT_TRUE(bob.Connect().ok());
    server.Kill(SIGKILL);  // bob's route stays in Redis
  }
  server.Restart();
  FlareClient carol(server.Options("carol"));  // may get the session id bob had
  Inbox carol_inbox(carol);
  ASSERT_TRUE(carol.Connect().ok());
  FlareClient alice(server.Options("alice"));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(alice.Send(TextTo("bob", "for-bob")).ok());
  ASSERT_TRUE(alice.Send(TextTo("carol", "for-carol")).ok());
  auto got = carol_inbox.WaitFor(1);
  for (const auto& m : got)
    EXPECT_NE(m.client_msg_id(), "for-bob") << "bob's message reached carol";
  EXPECT_EQ(got.back().client_msg_id(), "for-carol");
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

// Runs `flare migrate` with `env` added; returns its exit status and output.
int RunMigrate(const std::map<std::string, std::string>& env, std::string* output) {
  std::string command;
  for (const auto& [k, v] : env) command += k + "='" + v + "' ";
  command += std::string(FLARE_BINARY) + " migrate --data-dir " + ::testing::TempDir() +
             "/flare_migrate 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output->append(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(E2eOnPostgresAndRedis, MigrateBringsTheSchemaUpAndIsIdempotent) {
  testing::RedisServer redis;
  auto env = BackendEnv("e2e_migrate", redis);
  ASSERT_FALSE(env.empty());
  for (int run = 0; run < 2; ++run) {
    std::string out;
    EXPECT_EQ(RunMigrate(env, &out), 0) << out;
    EXPECT_NE(out.find("postgres store's schema is current"), std::string::npos) << out;
  }
  env["FLARE_STORAGE_POSTGRES_DSN"] = "host=127.0.0.1 port=1 dbname=x connect_timeout=2";
  std::string out;
  EXPECT_EQ(RunMigrate(env, &out), 2);
  EXPECT_NE(out.find("127.0.0.1:1"), std::string::npos) << out;
}

}  // namespace
}  // namespace flare
