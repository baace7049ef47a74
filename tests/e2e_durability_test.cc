// Crash safety and graceful drain of a real `flare serve`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>

#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::ServerProcess;

TEST(E2eDurability, EveryAckedMessageSurvivesKillNine) {
  ServerProcess server;
  std::map<std::string, std::map<int64_t, std::string>> acked;  // conv -> seq -> client_msg_id
  {
    FlareClient alice(server.Options("alice"));
    ASSERT_TRUE(alice.Connect().ok());
    for (int i = 0; i < 300; ++i) {
      std::string peer = "peer" + std::to_string(i % 3);
      auto ack = alice.SendText(peer, "m" + std::to_string(i));
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      acked[ack->conversation_id()][ack->seq()] = ack->client_msg_id();
    }
    server.Kill(SIGKILL);
  }
  server.Restart();
  FlareClient alice(server.Options("alice"));
  ASSERT_TRUE(alice.Connect().ok());
  for (const auto& [conv, by_seq] : acked) {
    auto page = alice.Sync(conv, 0, 500);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->messages_size(), static_cast<int>(by_seq.size())) << conv;
    EXPECT_FALSE(page->has_more());
    for (int i = 0; i < page->messages_size(); ++i) {
      const auto& m = page->messages(i);
      EXPECT_EQ(m.seq(), i + 1);
      EXPECT_EQ(m.client_msg_id(), by_seq.at(m.seq()));
    }
  }
  // Sequencing resumes after the last stored seq.
  auto next = alice.SendText("peer0", "after restart");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq(), 101);
}

TEST(E2eDurability, SigtermDrainsAndTellsClientsToGoAway) {
  ServerProcess server;
  // Declared before the client, so they outlive its I/O thread.
  testing::Waiter waiter;
  bool going_away = false;
  FlareClient alice(server.Options("alice"));
  alice.OnFrame([&](const pb::ServerFrame& f) {
    if (!f.has_going_away()) return;
    {
      std::lock_guard lock(waiter.mutex());
      going_away = true;
    }
    waiter.Notify();
  });
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(alice.SendText("bob", "before drain").ok());
  int status = server.Terminate();
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(waiter.WaitFor([&] { return going_away; }));
  alice.Close();

  server.Restart();
  FlareClient bob(server.Options("bob"));
  testing::Inbox inbox(bob);
  ASSERT_TRUE(bob.Connect().ok());
  EXPECT_EQ(inbox.WaitFor(1)[0].content().text(), "before drain");
}

TEST(E2eDurability, ClientReconnectsAndCatchesUpAfterARestart) {
  ServerProcess server;
  FlareClient bob(server.Options("bob"));
  testing::Inbox inbox(bob);
  ASSERT_TRUE(bob.Connect().ok());
  {
    FlareClient alice(server.Options("alice"));
    ASSERT_TRUE(alice.Connect().ok());
    ASSERT_TRUE(alice.SendText("bob", "one").ok());
    inbox.WaitFor(1);
    server.Kill(SIGKILL);
  }
  server.Restart();  // same ports: bob's client reconnects with backoff by itself
  FlareClient alice(server.Options("alice"));
  ASSERT_TRUE(alice.Connect().ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(alice.SendText("bob", "after").ok());
  auto got = inbox.WaitFor(21);
  ASSERT_EQ(got.size(), 21u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq(), static_cast<int64_t>(i + 1));
  EXPECT_GE(bob.reconnects(), 1);
}

}  // namespace
}  // namespace flare
