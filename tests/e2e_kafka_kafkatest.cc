// `flare serve` on every cluster backend at once: PostgreSQL (messages),
// Redis (routes) and Kafka (the ingest stream, on librdkafka's mock
// cluster, which this test process runs and the server reaches over TCP).
// The core cases: idempotent sends with their seqs, a group with offline
// sync, and acked messages surviving kill -9 while a new member of the
// writers' group takes the stream over.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/ids.h"
#include "support/cluster_backends.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::ServerProcess;

using testing::TextTo;

TEST(E2eOnClusterBackends, SendsGroupsAndSyncThroughKafkaAcrossAKill) {
  testing::ClusterBackends backends("e2e_kafka");
  ASSERT_EQ(backends.error(), "");
  ServerProcess server(backends.ServeEnv());
  {
    FlareClient alice(server.Options("alice"));
    FlareClient bob(server.Options("bob"));
    Inbox bob_inbox(bob);
    ASSERT_TRUE(alice.Connect().ok());
    ASSERT_TRUE(bob.Connect().ok());
    for (int i = 1; i <= 30; ++i) {
      auto ack = alice.Send(TextTo("bob", "k" + std::to_string(i)));
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      EXPECT_EQ(ack->seq(), i);
    }
    auto again = alice.Send(TextTo("bob", "k7"));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->duplicate());
    EXPECT_EQ(again->seq(), 7);
    EXPECT_EQ(bob_inbox.WaitFor(30).size(), 30u);

    auto group = alice.Group(testing::CreateGroup({"bob", "carol"}));
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(alice.Send(testing::ToConversation(group->info().conversation_id(), "g")).ok());
    }
    FlareClient carol(server.Options("carol"));
    ASSERT_TRUE(carol.Connect().ok());
    auto page = carol.Sync(group->info().conversation_id(), 0, 100);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->messages_size(), 6);  // the membership event and five posts
  }
  server.Kill(SIGKILL);
  server.Restart();  // joins the writers' group again; the dead member times out
  FlareClient bob(server.Options("bob"));
  ASSERT_TRUE(bob.Connect().ok());
  auto page = bob.Sync(SingleConversationId("alice", "bob"), 0, 100);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages_size(), 30);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(page->messages(i).seq(), i + 1);
  auto next = bob.Send(TextTo("alice", "after-restart"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->seq(), 31);
}

}  // namespace
}  // namespace flare
