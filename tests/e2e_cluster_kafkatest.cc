// Flare as a cluster of role processes (tests/support/local_cluster.h):
// clients on two signaling gateways talk through the orchestrator's Submit
// stream, two storage writers and the gateway inbox, and read through the
// storage-reader and session roles.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <set>

#include "common/ids.h"
#include "services/signaling/online/token.h"
#include "support/frames.h"
#include "support/group_texts.h"
#include "support/inbox.h"
#include "support/local_cluster.h"
#include "support/server_metrics.h"
#include "support/test_png.h"

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

// The core-gateway in the first gateway's process: a send over HTTP goes
// through the orchestrator and a writer over Kafka, is answered once stored
// (the outcome comes back to that gateway), and reaches a client on the
// other gateway; history and members are read over gRPC.
// Redis keeps only soft state: restarted empty, it has lost every route,
// and the gateways reach it through signaling-online, which keeps none. A
// message sent then finds no route to bob. His gateway's next beat reports
// the lapse, registers his route again and tells his device to catch up:
// the message reaches him without his reconnecting or anything more being
// sent, and later ones are pushed.
TEST(E2eCluster, AfterRedisRestartsEmptyConnectedDevicesGetWhatWasSentMeanwhile) {
  testing::LocalCluster cluster("e2e_cluster_redis_restart");
  ASSERT_EQ(cluster.error(), "");
  FlareClient alice(cluster.gateway(0).Options("alice"));
  FlareClient bob(cluster.gateway(1).Options("bob"));
  testing::Inbox bob_inbox(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  std::string direct = SingleConversationId("alice", "bob");
  auto received = [&](const pb::SendRequest& request) {
    // A gateway beats every third of presence.gateway_ttl_ms (30 s).
    return bob_inbox.WaitUntil(
        [&](const std::vector<pb::Message>& got) {
          return std::any_of(got.begin(), got.end(), [&](const pb::Message& m) {
            return m.client_msg_id() == request.client_msg_id();
          });
        },
        25'000);
  };

  cluster.backends().redis().Stop();
  ASSERT_TRUE(cluster.backends().redis().Start());
  auto meanwhile = testing::ToConversation(direct, "sent while the routes were gone");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Result<pb::SendAck> ack = Unavailable("not sent");
  while (!ack.ok() && std::chrono::steady_clock::now() < deadline) ack = alice.Send(meanwhile);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_TRUE(received(meanwhile)) << "bob never got the message sent meanwhile";
  auto after = testing::ToConversation(direct, "sent after");
  ASSERT_TRUE(alice.Send(after).ok());
  EXPECT_TRUE(received(after)) << "no push reached bob";
  EXPECT_EQ(bob.reconnects(), 0);
}

TEST(E2eCluster, TheHttpApiSendsThroughTheRolesAndAnswersOnceStored) {
  testing::LocalCluster cluster("e2e_cluster_http");
  ASSERT_EQ(cluster.error(), "");
  FlareClient bob(cluster.gateway(1).Options("bob"));
  testing::Inbox bob_inbox(bob);
  ASSERT_TRUE(bob.Connect().ok());
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string admin = *TokenSigner(testing::kTestSecret).IssueAdmin({"*", "test", 0}, now, 600);
  long status = 0;
  std::string body = cluster.gateway(0).Http(
      "POST", "/v1/messages",
      R"({"sender":"alice","peer_user_id":"bob","client_msg_id":"http-1","content":{"text":"over http"}})",
      &status, admin);
  ASSERT_EQ(status, 200) << body;
  auto sent = nlohmann::json::parse(body);
  EXPECT_EQ(sent["seq"], 1);
  auto got = bob_inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content().text(), "over http");
  std::string history = cluster.gateway(0).Http(
      "GET", "/v1/conversations/" + SingleConversationId("alice", "bob") + "/messages?user=bob", "",
      &status, admin);
  ASSERT_EQ(status, 200) << history;
  EXPECT_EQ(nlohmann::json::parse(history)["messages"].size(), 1u);
  // The other gateway's process serves no API.
  cluster.gateway(1).Http("GET", "/v1/admin/online", "", &status, admin);
  EXPECT_EQ(status, 404);
  // Media: uploaded and read back through the same process.
  std::string png = testing::MakePng(32, 32);
  std::string uploaded =
      cluster.gateway(0).Http("POST", "/v1/media?owner=alice", png, &status, admin);
  ASSERT_EQ(status, 201) << uploaded;
  std::string url = nlohmann::json::parse(uploaded)["url"];
  EXPECT_EQ(cluster.gateway(0).Http("GET", url, "", &status, admin), png);
  EXPECT_EQ(status, 200);
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

// Push devices through a cluster gateway (the device store on PostgreSQL),
// the writers' offline hand-off, and a login on a gateway reaching both
// writers' push-server: a device that came back and left is notified
// again for a conversation coalesced before.
TEST(E2eCluster, OfflineDevicesGetOneTaskPerConversationUntilTheyComeBack) {
  testing::LocalCluster cluster("e2e_cluster_push");
  ASSERT_EQ(cluster.error(), "");
  auto writers_sum = [&](const std::string& name) {
    int64_t sum = 0;
    for (int i = 0; i < 2; ++i)
      sum += std::max<int64_t>(0, testing::Metric(cluster.writer(i), name));
    return sum;
  };
  // Tasks published once the hand-offs have looked at `messages` messages.
  auto tasks_after = [&](int64_t messages) {
    EXPECT_EQ(testing::WaitForFigure(
                  [&] { return writers_sum("flare_push_offline_messages_total"); }, messages),
              messages);
    return writers_sum("flare_push_offline_tasks_total");
  };
  FlareClient alice(cluster.gateway(0).Options("alice", "mac"));
  FlareClient bob(cluster.gateway(1).Options("bob", "phone"));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  Status registered = bob.RegisterDevice("webhook", "https://push.example.test/bob");
  ASSERT_TRUE(registered.ok()) << registered.ToString();
  ASSERT_TRUE(bob.SendText("alice", "hi").ok());  // alice may see bob's presence now

  bob.Disconnect();
  ASSERT_TRUE(testing::WaitOffline(alice, "bob"));
  ASSERT_TRUE(alice.SendText("bob", "one").ok());
  EXPECT_EQ(tasks_after(2), 1);
  ASSERT_TRUE(alice.SendText("bob", "two").ok());
  EXPECT_EQ(tasks_after(3), 1) << "coalesced while bob stays offline";

  // alice's and bob's first logins, applied by both writers.
  auto logins_total = [&] { return writers_sum("flare_push_offline_logins_total"); };
  EXPECT_GE(testing::WaitForFigure(logins_total, 4), 4);
  int64_t logins = logins_total();
  ASSERT_TRUE(bob.Reconnect().ok());
  // Both writers applied the login that gateway 1 reported.
  EXPECT_GE(testing::WaitForFigure(logins_total, logins + 2), logins + 2);
  bob.Disconnect();
  ASSERT_TRUE(testing::WaitOffline(alice, "bob"));
  ASSERT_TRUE(alice.SendText("bob", "three").ok());
  EXPECT_EQ(tasks_after(4), 2) << "came back and left: notified again";
}

}  // namespace
}  // namespace flare
