// Two `flare serve` processes on one PostgreSQL, Redis and Kafka (the mock
// cluster): each stores the conversations of the ingest partitions it
// owns, so a message sent on server A is often stored by server B's
// writer. Its ack must still reach the sender on A, and its push the peer
// on B, through the gateway inbox (bus.gateway_topic); so must typing.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/ids.h"
#include "support/cluster_backends.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::ServerProcess;

// flare_gateway_inbox_records_total of a server: records its inbox took.
int64_t InboxRecords(const ServerProcess& server) {
  std::string metrics = server.HttpGet("/metrics");
  const std::string name = "\nflare_gateway_inbox_records_total ";
  auto at = metrics.find(name);
  return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size()));
}

struct Sent {
  std::string conversation_id;
  std::string client_msg_id;
  int64_t seq = 0;
};

TEST(E2eGatewayInbox, AcksAndPushesReachTheOtherServerWhicheverWriterStores) {
  testing::ClusterBackends backends("e2e_gateway_inbox");
  ASSERT_EQ(backends.error(), "");
  std::map<std::string, std::string> env = backends.ServeEnv();
  // Started side by side: each waits for its consumer groups to settle.
  std::unique_ptr<ServerProcess> server_b;
  std::thread start_b([&] { server_b = std::make_unique<ServerProcess>(env); });
  ServerProcess a(env);
  start_b.join();
  ServerProcess& b = *server_b;
  FlareClient alice(a.Options("alice"));
  FlareClient bob(b.Options("bob"));
  testing::Inbox bob_inbox(bob);
  testing::Notices bob_notices(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());

  // Many conversations, so that both writers store some once the writers'
  // group has split the partitions between the two servers.
  std::vector<std::string> conversations = {SingleConversationId("alice", "bob")};
  std::map<std::string, int64_t> next_seq = {{conversations[0], 1}};
  for (int i = 0; i < 12; ++i) {
    auto group = alice.Group(testing::CreateGroup({"bob"}));
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    conversations.push_back(group->info().conversation_id());
    next_seq[conversations.back()] = group->seq() + 1;
  }
  // Rounds of one send per conversation until each server's inbox has taken
  // records from the other (acks for alice, pushes for bob), at least two.
  std::vector<Sent> sent;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0; round < 2 || InboxRecords(a) <= 0 || InboxRecords(b) <= 0; ++round) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "inbox records: a " << InboxRecords(a) << ", b " << InboxRecords(b);
    for (const auto& conv : conversations) {
      auto request = testing::ToConversation(conv, "round " + std::to_string(round));
      auto ack = alice.Send(request);
      ASSERT_TRUE(ack.ok()) << conv << ": " << ack.status().ToString();
      EXPECT_EQ(ack->seq(), next_seq[conv]++) << conv;
      sent.push_back({conv, request.client_msg_id(), ack->seq()});
    }
  }

  // Every message pushed live to bob on the other server.
  auto pushed = [&](const std::vector<pb::Message>& got) {
    std::set<std::string> ids;
    for (const auto& m : got) ids.insert(m.client_msg_id());
    for (const auto& s : sent) {
      if (!ids.count(s.client_msg_id)) return false;
    }
    return true;
  };
  EXPECT_TRUE(bob_inbox.WaitUntil(pushed))
      << bob_inbox.All().size() << " pushed of " << sent.size();
  // And each ack's seq is the one stored.
  std::map<std::string, int64_t> stored_seq;
  for (const auto& conv : conversations) {
    auto page = bob.Sync(conv, 0, 100);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& m : page->messages()) stored_seq[m.client_msg_id()] = m.seq();
  }
  for (const auto& s : sent) EXPECT_EQ(stored_seq[s.client_msg_id], s.seq) << s.client_msg_id;

  // Typing is relayed by the sender's gateway itself, to bob's on B.
  pb::ClientFrame typing;
  typing.mutable_typing()->set_conversation_id(conversations[0]);
  auto typed = alice.Call(typing);
  ASSERT_TRUE(typed.ok() && typed->has_ok());
  auto notice = bob_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_typing(); });
  EXPECT_EQ(notice.typing().user_id(), "alice");
}

// An exclusive login on server B displaces alice's session on server A:
// B's gateway has A's close it, through A's gateway inbox.
TEST(E2eGatewayInbox, ALoginOnOneServerKicksTheSessionItDisplacesOnTheOther) {
  testing::ClusterBackends backends("e2e_gateway_kick");
  ASSERT_EQ(backends.error(), "");
  std::map<std::string, std::string> env = backends.ServeEnv();
  env["FLARE_PRESENCE_LOGIN_CONFLICT"] = "exclusive";
  std::unique_ptr<ServerProcess> server_b;
  std::thread start_b([&] { server_b = std::make_unique<ServerProcess>(env); });
  ServerProcess a(env);
  start_b.join();
  FlareClient phone(a.Options("alice", "phone"));
  testing::Notices phone_notices(phone);
  ASSERT_TRUE(phone.Connect().ok());
  FlareClient laptop(server_b->Options("alice", "laptop"));
  testing::Notices laptop_notices(laptop);
  ASSERT_TRUE(laptop.Connect().ok());
  auto kicked = phone_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_kicked(); });
  EXPECT_EQ(kicked.kicked().reason(), "signed in on another device");
  EXPECT_TRUE(laptop.SendText("bob", "I am the one").ok());
  EXPECT_EQ(laptop_notices.Count([](const pb::ServerFrame& f) { return f.has_kicked(); }), 0u);
}

}  // namespace
}  // namespace flare
