// The contract every MessageStore/ConversationStore adapter passes, as
// parameterised tests; each test file instantiates it for its backends.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "ports/conversation_store.h"
#include "ports/message_store.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

struct StoreUnderTest {
  std::shared_ptr<MessageStore> messages;
  std::shared_ptr<ConversationStore> conversations;
};

struct Backend {
  std::string name;
  std::function<StoreUnderTest(const std::string& dir)> open;
};

inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

StoredMessage Msg(const std::string& conv, int64_t seq, const std::string& sender,
                  const std::string& cmid, const std::string& text = "hi") {
  StoredMessage sm;
  sm.tenant = "t1";
  sm.message.set_conversation_id(conv);
  sm.message.set_seq(seq);
  sm.message.set_sender(sender);
  sm.message.set_client_msg_id(cmid);
  sm.message.set_server_msg_id("srv-" + cmid);
  sm.message.set_server_time_ms(1000 + seq);
  sm.message.mutable_content()->set_text(text);
  return sm;
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/flare_store_" + GetParam().name + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = GetParam().open(dir_);
  }
  void TearDown() override {
    store_ = {};
    std::filesystem::remove_all(dir_);
  }
  MessageStore& messages() { return *store_.messages; }
  ConversationStore& conversations() { return *store_.conversations; }

  std::string dir_;
  StoreUnderTest store_;
};

TEST_P(StoreContract, WritesAndReadsInSeqOrder) {
  WriteBatch batch;
  batch.memberships = {{"t1", "c1", 1, "alice", 1}, {"t1", "c1", 1, "bob", 1}};
  for (int i = 1; i <= 5; ++i)
    batch.messages.push_back(Msg("c1", i, "alice", "m" + std::to_string(i)));
  ASSERT_TRUE(messages().Write(batch).ok());

  EXPECT_EQ(*messages().MaxSeq("t1", "c1"), 5);
  EXPECT_EQ(*messages().MaxSeq("t1", "other"), 0);
  EXPECT_EQ(*messages().MaxSeq("t2", "c1"), 0);  // tenants are separate
  auto page = messages().ReadAfter("t1", "c1", 2, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq(), 3);
  EXPECT_EQ((*page)[1].seq(), 4);
  EXPECT_EQ((*page)[1].content().text(), "hi");
  auto last = messages().Last("t1", "c1");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->seq(), 5);
}

TEST_P(StoreContract, FindsMessagesByIdempotencyKey) {
  WriteBatch batch;
  batch.messages.push_back(Msg("c1", 1, "alice", "k1"));
  ASSERT_TRUE(messages().Write(batch).ok());
  auto found = messages().FindByClientMsgId("t1", "alice", "k1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->seq(), 1);
  EXPECT_FALSE(messages().FindByClientMsgId("t1", "bob", "k1")->has_value());
  EXPECT_FALSE(messages().FindByClientMsgId("t2", "alice", "k1")->has_value());
}

TEST_P(StoreContract, ConflictingBatchWritesNothing) {
  WriteBatch first;
  first.messages.push_back(Msg("c1", 1, "alice", "k1"));
  ASSERT_TRUE(messages().Write(first).ok());

  WriteBatch seq_conflict;
  seq_conflict.messages = {Msg("c1", 2, "alice", "k2"), Msg("c1", 1, "alice", "k3")};
  Status st = messages().Write(seq_conflict);
  EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.ToString();

  WriteBatch id_conflict;
  id_conflict.messages = {Msg("c1", 2, "alice", "k1")};
  EXPECT_EQ(messages().Write(id_conflict).code(), Code::kAlreadyExists);

  EXPECT_EQ(*messages().MaxSeq("t1", "c1"), 1);
  EXPECT_FALSE(messages().FindByClientMsgId("t1", "alice", "k2")->has_value());
}

TEST_P(StoreContract, CursorsOnlyMoveForward) {
  WriteBatch batch;
  batch.memberships = {{"t1", "c1", 1, "alice", 1}};
  batch.cursors = {{"t1", "c1", "alice", 4, 2}};
  ASSERT_TRUE(messages().Write(batch).ok());
  WriteBatch back;
  back.cursors = {{"t1", "c1", "alice", 3, 1}, {"t1", "c1", "nobody", 9, 9}};
  ASSERT_TRUE(messages().Write(back).ok());
  auto list = conversations().ListForUser("t1", "alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].delivered_seq, 4);
  EXPECT_EQ((*list)[0].read_seq, 2);
  EXPECT_EQ((*list)[0].conversation_type, 1);
}

TEST_P(StoreContract, GetMemberConversationIsListForUsersRowOfIt) {
  WriteBatch batch;
  batch.conversations = {{"t1", "g1", "record"}};
  batch.memberships = {{"t1", "g1", 2, "alice", 1, 0, 0, 3}, {"t1", "c1", 1, "alice", 1}};
  batch.cursors = {{"t1", "g1", "alice", 5, 4}};
  ASSERT_TRUE(messages().Write(batch).ok());
  auto group = conversations().GetMemberConversation("t1", "g1", "alice");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  ASSERT_TRUE(group->has_value());
  EXPECT_EQ((*group)->conversation_id, "g1");
  EXPECT_EQ((*group)->conversation_type, 2);
  EXPECT_EQ((*group)->delivered_seq, 5);
  EXPECT_EQ((*group)->read_seq, 4);
  EXPECT_EQ((*group)->joined_seq, 3);
  EXPECT_EQ((*group)->info, "record");
  auto single = conversations().GetMemberConversation("t1", "c1", "alice");
  ASSERT_TRUE(single.ok());
  ASSERT_TRUE(single->has_value());
  EXPECT_EQ((*single)->info, "") << "a 1:1 conversation has no record";
  EXPECT_FALSE(conversations().GetMemberConversation("t1", "g1", "bob")->has_value());
  EXPECT_FALSE(conversations().GetMemberConversation("t2", "g1", "alice")->has_value());
}

TEST_P(StoreContract, MembershipAndUnreadCounts) {
  WriteBatch batch;
  batch.memberships = {
      {"t1", "c1", 1, "alice", 1}, {"t1", "c1", 1, "bob", 1}, {"t1", "c2", 1, "alice", 1}};
  batch.messages = {Msg("c1", 1, "alice", "a1"), Msg("c1", 2, "bob", "b1"),
                    Msg("c1", 3, "bob", "b2")};
  ASSERT_TRUE(messages().Write(batch).ok());
  EXPECT_TRUE(conversations().GetMember("t1", "c1", "bob")->has_value());
  EXPECT_FALSE(conversations().GetMember("t1", "c2", "bob")->has_value());
  EXPECT_FALSE(conversations().GetMember("t2", "c1", "bob")->has_value());
  EXPECT_EQ(*conversations().Members("t1", "c1"), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(conversations().ListForUser("t1", "alice")->size(), 2u);
  EXPECT_EQ(*messages().CountAfter("t1", "c1", 0, 100, "alice"), 2);  // own: never unread
  EXPECT_EQ(*messages().CountAfter("t1", "c1", 2, 100, "alice"), 1);
  EXPECT_EQ(*messages().CountAfter("t1", "c1", 0, 2, "alice"), 1);  // up to seq 2 only
}

TEST_P(StoreContract, MembershipChangesApplyInBatchOrder) {
  WriteBatch setup;
  setup.memberships = {{"t1", "g1", 2, "alice", 1}, {"t1", "g1", 2, "bob", 1}};
  ASSERT_TRUE(messages().Write(setup).ok());
  // Removed and re-added in one batch: a member. Added and removed: not.
  WriteBatch batch;
  MembershipRecord remove_bob{"t1", "g1", 2, "bob"};
  remove_bob.removed = true;
  MembershipRecord remove_carol{"t1", "g1", 2, "carol"};
  remove_carol.removed = true;
  batch.memberships = {
      remove_bob, {"t1", "g1", 2, "bob", 2, 0, 0, 7}, {"t1", "g1", 2, "carol", 2}, remove_carol};
  ASSERT_TRUE(messages().Write(batch).ok());
  auto bob = conversations().GetMember("t1", "g1", "bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->joined_seq, 7);
  EXPECT_FALSE(conversations().GetMember("t1", "g1", "carol")->has_value());
  EXPECT_EQ(*conversations().Members("t1", "g1"), (std::vector<std::string>{"alice", "bob"}));
}

TEST_P(StoreContract, GetManyReturnsTheStoredOnes) {
  WriteBatch batch;
  batch.messages = {Msg("c1", 1, "bob", "b1"), Msg("c1", 2, "bob", "b2"),
                    Msg("c2", 3, "bob", "b3")};
  ASSERT_TRUE(messages().Write(batch).ok());
  auto found = messages().GetMany("t1", "c1", {2, 1, 3, 9});
  ASSERT_TRUE(found.ok());
  std::set<int64_t> seqs;
  for (const auto& m : *found) seqs.insert(m.seq());
  EXPECT_EQ(seqs, (std::set<int64_t>{1, 2}));
  EXPECT_TRUE(messages().GetMany("t2", "c1", {1})->empty());
}

TEST_P(StoreContract, MentionsAreFoundUpToASeq) {
  WriteBatch batch;
  auto m = Msg("c1", 2, "bob", "b1");
  m.message.add_mentions()->set_user_id("alice");
  batch.messages = {Msg("c1", 1, "bob", "b0"), m};
  ASSERT_TRUE(messages().Write(batch).ok());
  EXPECT_TRUE(*messages().MentionedAfter("t1", "c1", 0, 2, "alice"));
  EXPECT_FALSE(*messages().MentionedAfter("t1", "c1", 0, 1, "alice"));
  EXPECT_FALSE(*messages().MentionedAfter("t1", "c1", 2, 9, "alice"));
}

TEST_P(StoreContract, AClaimFencesOffTheEarlierOwnerOfAPartition) {
  auto first = messages().ClaimPartition(3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WriteBatch by_first;
  by_first.claims = {{3, *first}};
  by_first.messages.push_back(Msg("c1", 1, "alice", "k1"));
  ASSERT_TRUE(messages().Write(by_first).ok());

  auto second = messages().ClaimPartition(3);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);
  WriteBatch zombie;
  zombie.claims = {{3, *first}};
  zombie.messages.push_back(Msg("c1", 2, "alice", "k2"));
  Status st = messages().Write(zombie);
  EXPECT_EQ(st.code(), Code::kAborted) << st.ToString();
  EXPECT_EQ(*messages().MaxSeq("t1", "c1"), 1);

  WriteBatch by_second;
  by_second.claims = {{3, *second}};
  by_second.messages.push_back(Msg("c1", 2, "bob", "k3"));
  EXPECT_TRUE(messages().Write(by_second).ok());
  EXPECT_EQ(*messages().MaxSeq("t1", "c1"), 2);
}

TEST_P(StoreContract, AClaimOnAnotherPartitionDoesNotFence) {
  auto p1 = messages().ClaimPartition(1);
  ASSERT_TRUE(p1.ok());
  ASSERT_TRUE(messages().ClaimPartition(2).ok());
  WriteBatch batch;
  batch.claims = {{1, *p1}};
  batch.messages.push_back(Msg("c1", 1, "alice", "k1"));
  EXPECT_TRUE(messages().Write(batch).ok());
  WriteBatch unclaimed;
  unclaimed.claims = {{9, 1}};
  unclaimed.messages.push_back(Msg("c1", 2, "alice", "k2"));
  EXPECT_EQ(messages().Write(unclaimed).code(), Code::kAborted);
}

}  // namespace
}  // namespace flare
