// Flare as a cluster of role processes (tests/support/local_cluster.h):
// clients on two signaling gateways talk through the orchestrator's Submit
// stream, two storage writers and the gateway inbox, and read through the
// storage-reader and session roles.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <set>

#include "common/ids.h"
#include "support/frames.h"
#include "support/group_texts.h"
#include "support/inbox.h"
#include "support/local_cluster.h"

namespace flare {
namespace {

TEST(E2eCluster, ClientsOnTwoGatewaysExchangeMessagesThroughTheRoles) {
  testing::LocalCluster cluster("e2e_cluster_roles");
  ASSERT_EQ(cluster.error(), "");
  FlareClient alice(cluster.gateway(0).Options("alice"));
  FlareClient bob(cluster.gateway(1).Options("bob"));
  testing::Inbox bob_inbox(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());

  std::string direct = SingleConversationId("alice", "bob");
  auto group = alice.Group(testing::CreateGroup({"bob"}));
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  std::string group_id = group->info().conversation_id();
  std::map<std::string, int64_t> last_seq = {{direct, 0}, {group_id, group->seq()}};
  std::set<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    const std::string& conv = i % 2 ? group_id : direct;
    auto request = testing::ToConversation(conv, "hello " + std::to_string(i));
    auto ack = alice.Send(request);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    EXPECT_EQ(ack->seq(), ++last_seq[conv]) << conv;
    sent.insert(request.client_msg_id());
  }
  EXPECT_TRUE(bob_inbox.WaitUntil([&](const std::vector<pb::Message>& got) {
    size_t found = 0;
    for (const auto& m : got) found += sent.count(m.client_msg_id());
    return found == sent.size();
  })) << bob_inbox.All().size()
      << " of " << sent.size() << " pushed";
  // Sync (storage-reader) and bootstrap (session) over gRPC.
  auto page = bob.Sync(direct, 0, 100);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->messages_size(), 10);
  auto boot = bob.Bootstrap();
  ASSERT_TRUE(boot.ok()) << boot.status().ToString();
  EXPECT_EQ(boot->conversations_size(), 2);
}

TEST(E2eCluster, ADrainedGatewaySendsGoingAwayAndItsClientsMoveToAnother) {
  testing::LocalCluster cluster("e2e_cluster_drain");
  ASSERT_EQ(cluster.error(), "");
  ClientOptions o = cluster.gateway(0).Options("alice");
  o.failover_ports = {cluster.gateway(1).ws_port()};
  FlareClient alice(o);
  testing::Notices alice_notices(alice);
  FlareClient bob(cluster.gateway(1).Options("bob"));
  testing::Inbox bob_inbox(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(alice.SendText("bob", "before").ok());

  int status = cluster.gateway(0).Terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto going_away =
      alice_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_going_away(); });
  EXPECT_TRUE(going_away.has_going_away());
  // Alice is back on gateway 1 and her messages reach bob.
  auto ack = alice.SendText("bob", "after");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->seq(), 2);
  EXPECT_GE(alice.reconnects(), 1);
  auto got = bob_inbox.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].content().text(), "after");
}

}  // namespace
}  // namespace flare
