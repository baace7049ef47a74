// Tenants share one server and nothing else: the same user ids in two
// tenants get no push, sync, bootstrap, group or idempotency key of the
// other's.
#include <gtest/gtest.h>

#include "common/ids.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::ServerProcess;

std::unique_ptr<FlareClient> Client(const ServerProcess& server, const std::string& user,
                                    const std::string& tenant) {
  auto c = std::make_unique<FlareClient>(server.Options(user, "d1", tenant));
  return c;
}

pb::SendRequest Text(const std::string& peer, const std::string& key, const std::string& text) {
  pb::SendRequest r;
  r.set_peer_user_id(peer);
  r.set_client_msg_id(key);
  r.mutable_content()->set_text(text);
  return r;
}

TEST(E2eTenancy, SameUserIdsInTwoTenantsShareNothing) {
  ServerProcess server;
  auto alice1 = Client(server, "alice", "t1");
  auto alice2 = Client(server, "alice", "t2");
  auto bob1 = Client(server, "bob", "t1");
  auto bob2 = Client(server, "bob", "t2");
  Inbox inbox1(*bob1), inbox2(*bob2);
  for (auto* c : {alice1.get(), alice2.get(), bob1.get(), bob2.get()}) {
    ASSERT_TRUE(c->Connect().ok());
  }

  // One idempotency key in both tenants: two messages, neither a duplicate.
  auto sent1 = alice1->Send(Text("bob", "same-key", "for bob of t1"));
  ASSERT_TRUE(sent1.ok()) << sent1.status().ToString();
  ASSERT_EQ(inbox1.WaitFor(1).size(), 1u);
  auto sent2 = alice2->Send(Text("bob", "same-key", "for bob of t2"));
  ASSERT_TRUE(sent2.ok()) << sent2.status().ToString();
  EXPECT_FALSE(sent1->duplicate());
  EXPECT_FALSE(sent2->duplicate());
  EXPECT_EQ(sent1->seq(), 1);
  EXPECT_EQ(sent2->seq(), 1);
  EXPECT_NE(sent1->server_msg_id(), sent2->server_msg_id());

  // Pushes: each bob got his own tenant's message only.
  auto got2 = inbox2.WaitFor(1);
  ASSERT_EQ(got2.size(), 1u);
  EXPECT_EQ(got2[0].content().text(), "for bob of t2");
  auto got1 = inbox1.All();
  ASSERT_EQ(got1.size(), 1u);
  EXPECT_EQ(got1[0].content().text(), "for bob of t1");

  // Sync and bootstrap of the same conversation id.
  std::string conv = SingleConversationId("alice", "bob");
  auto page = bob2->Sync(conv, 0, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages_size(), 1);
  EXPECT_EQ(page->messages(0).content().text(), "for bob of t2");
  auto boot = bob2->Bootstrap();
  ASSERT_TRUE(boot.ok());
  ASSERT_EQ(boot->conversations_size(), 1);
  EXPECT_EQ(boot->conversations(0).last_message().content().text(), "for bob of t2");
  EXPECT_EQ(boot->conversations(0).unread(), 1);

  // A group of tenant t1 does not exist for the same users in t2.
  auto group = alice1->Group(testing::CreateGroup({"bob"}));
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  std::string group_id = group->info().conversation_id();
  ASSERT_TRUE(alice1->Send(testing::ToConversation(group_id, "t1 only")).ok());
  EXPECT_FALSE(bob2->Sync(group_id, 0, 100).ok());
  EXPECT_FALSE(alice2->Send(testing::ToConversation(group_id, "from t2")).ok());
  auto boot2 = bob2->Bootstrap();
  ASSERT_TRUE(boot2.ok());
  EXPECT_EQ(boot2->conversations_size(), 1) << "t1's group shows up in t2";
  auto page1 = bob1->Sync(group_id, 0, 100);
  ASSERT_TRUE(page1.ok());
  EXPECT_EQ(page1->messages_size(), 2);  // the membership event and the text
}

}  // namespace
}  // namespace flare
