// The contract every MessageSearch adapter passes (ports/message_search.h),
// as parameterised tests over a store that is both the MessageStore the
// messages are written to and the search; each test file instantiates it
// for its backends (message_search_contract_test.cc: memory and SQLite,
// message_search_pgtest.cc: PostgreSQL).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ports/message_search.h"
#include "ports/message_store.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

struct SearchUnderTest {
  std::shared_ptr<MessageStore> store;
  std::shared_ptr<MessageSearch> search;
};

struct SearchBackend {
  std::string name;
  std::function<SearchUnderTest(const std::string& dir)> open;
};

inline void PrintTo(const SearchBackend& b, std::ostream* os) { *os << b.name; }

// Messages, members and queries for search tests, over `under_`.
class SearchTestHelpers {
 protected:
  // A fresh directory for this test's files.
  void MakeDir(const std::string& backend) {
    dir_ = ::testing::TempDir() + "/flare_search_" + backend + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void RemoveDir() {
    under_ = {};
    std::filesystem::remove_all(dir_);
  }

  static StoredMessage Text(const std::string& conv, int64_t seq, const std::string& sender,
                            const std::string& text, int64_t time_ms = 0,
                            const std::string& tenant = "t1") {
    StoredMessage sm;
    sm.tenant = tenant;
    Message& m = sm.message;
    m.set_conversation_id(conv);
    m.set_seq(seq);
    m.set_sender(sender);
    m.set_client_msg_id(conv + "-" + std::to_string(seq));
    m.set_server_msg_id("srv-" + conv + "-" + std::to_string(seq));
    m.set_type(pb::MESSAGE_TYPE_TEXT);
    m.set_server_time_ms(time_ms != 0 ? time_ms : 1'700'000'000'000 + seq * 1000);
    m.mutable_content()->set_text(text);
    return sm;
  }

  // An event message (no text of its own unless `text` is given).
  static StoredMessage Event(const std::string& conv, int64_t seq, const std::string& sender,
                             const pb::Event& event, const std::string& text = "") {
    StoredMessage sm = Text(conv, seq, sender, text);
    sm.message.set_type(pb::MESSAGE_TYPE_EVENT);
    *sm.message.mutable_event() = event;
    if (event.has_delete_for_me()) sm.message.set_visible_to(sender);
    return sm;
  }

  static MembershipRecord Member(const std::string& conv, const std::string& user,
                                 int64_t joined_seq = 0, const std::string& tenant = "t1") {
    MembershipRecord r;
    r.tenant = tenant;
    r.conversation_id = conv;
    r.conversation_type = pb::CONVERSATION_TYPE_GROUP;
    r.user_id = user;
    r.joined_ms = 1;
    r.joined_seq = joined_seq;
    return r;
  }

  void Write(const WriteBatch& batch) {
    ASSERT_TRUE(under_.store);
    Status st = under_.store->Write(batch);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  SearchQuery Query(const std::string& user, const std::string& text, int limit = 100) {
    SearchQuery q;
    q.tenant = "t1";
    q.user_id = user;
    q.words = SearchWords(text);
    q.limit = limit;
    return q;
  }

  // The (conversation, seq) of every hit, in order.
  std::vector<std::string> Hits(const SearchQuery& query) {
    auto page = under_.search->Search(query);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (!page.ok()) return out;
    for (const auto& m : page->hits)
      out.push_back(m.conversation_id() + "/" + std::to_string(m.seq()));
    return out;
  }

  using V = std::vector<std::string>;
  std::string dir_;
  SearchUnderTest under_;
};

class MessageSearchContract : public ::testing::TestWithParam<SearchBackend>,
                              protected SearchTestHelpers {
 protected:
  void SetUp() override {
    MakeDir(GetParam().name);
    under_ = GetParam().open(dir_);
    ASSERT_TRUE(under_.store && under_.search);
  }
  void TearDown() override { RemoveDir(); }
};

TEST_P(MessageSearchContract, FindsEveryWordAsAWordPrefixIgnoringCaseNewestFirst) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice"), Member("c1", "bob")};
  batch.messages = {Text("c1", 1, "bob", "Hello World"), Text("c1", 2, "alice", "hello there"),
                    Text("c1", 3, "bob", "goodbye, HELLOWORLD!"), Text("c1", 4, "bob", "othello")};
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "hello")), (V{"c1/3", "c1/2", "c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "HEL")), (V{"c1/3", "c1/2", "c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "hello there")), (V{"c1/2"}));
  EXPECT_EQ(Hits(Query("alice", "there hello")), (V{"c1/2"}));
  EXPECT_EQ(Hits(Query("alice", "world")), (V{"c1/1"}));  // not inside helloworld
  EXPECT_EQ(Hits(Query("alice", "ello")), V{});           // prefixes, not substrings
  EXPECT_EQ(Hits(Query("alice", "hello missing")), V{});
  auto page = under_.search->Search(Query("bob", "there"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 1u);
  const Message& hit = page->hits[0];
  EXPECT_EQ(hit.sender(), "alice");
  EXPECT_EQ(hit.content().text(), "hello there");
  EXPECT_EQ(hit.server_time_ms(), 1'700'000'002'000);
  EXPECT_EQ(hit.server_msg_id(), "srv-c1-2");
  EXPECT_FALSE(page->more);
}

TEST_P(MessageSearchContract, FindsOnlyTheUsersConversationsOfItsTenant) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice"), Member("c2", "carol"),
                       Member("c1", "alice", 0, "t2")};
  batch.messages = {Text("c1", 1, "alice", "secret plan"), Text("c2", 1, "carol", "secret plan"),
                    Text("c1", 1, "alice", "secret plan", 0, "t2")};
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "secret")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("carol", "secret")), (V{"c2/1"}));
  EXPECT_EQ(Hits(Query("mallory", "secret")), V{});
  auto only_c2 = Query("alice", "secret");
  only_c2.conversation_id = "c2";  // not a member: nothing, even when named
  EXPECT_EQ(Hits(only_c2), V{});
  auto other_tenant = Query("alice", "secret");
  other_tenant.tenant = "t2";
  auto page = under_.search->Search(other_tenant);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 1u);
  EXPECT_EQ(page->hits[0].conversation_id(), "c1");
}

TEST_P(MessageSearchContract, FiltersByConversation) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice"), Member("c2", "alice")};
  batch.messages = {Text("c1", 1, "alice", "lunch at noon"), Text("c2", 1, "alice", "lunch?")};
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "lunch")), (V{"c2/1", "c1/1"}));
  auto q = Query("alice", "lunch");
  q.conversation_id = "c1";
  EXPECT_EQ(Hits(q), (V{"c1/1"}));
}

TEST_P(MessageSearchContract, ShowsAMemberOnlyWhatFollowsTheirJoinPoint) {
  WriteBatch batch;
  batch.memberships = {Member("g1", "alice"), Member("g1", "dave", 3)};
  for (int seq = 1; seq <= 4; ++seq)
    batch.messages.push_back(Text("g1", seq, "alice", "apple pie"));
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "apple")), (V{"g1/4", "g1/3", "g1/2", "g1/1"}));
  EXPECT_EQ(Hits(Query("dave", "apple")), (V{"g1/4", "g1/3"}));
  WriteBatch leave;  // a removed member finds nothing any more
  leave.memberships = {Member("g1", "dave")};
  leave.memberships[0].removed = true;
  Write(leave);
  EXPECT_EQ(Hits(Query("dave", "apple")), V{});
}

TEST_P(MessageSearchContract, LeavesOutEventsRecalledAndDeletedForMeAndFindsEditsByNewText) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice"), Member("c1", "bob")};
  batch.messages = {Text("c1", 1, "alice", "alpha one"), Text("c1", 2, "alice", "alpha two"),
                    Text("c1", 3, "alice", "alpha three"), Text("c1", 4, "bob", "alpha four")};
  pb::Event recall, edit, hide, reaction;
  recall.set_target_seq(2);
  recall.mutable_recall();
  edit.set_target_seq(3);
  edit.mutable_edit()->mutable_content()->set_text("beta three");
  edit.mutable_edit()->set_version(2);
  hide.set_target_seq(4);
  hide.mutable_delete_for_me();
  reaction.set_target_seq(1);
  reaction.mutable_reaction()->set_emoji("alpha");
  batch.messages.push_back(Event("c1", 5, "alice", recall));
  batch.messages.push_back(Event("c1", 6, "alice", edit));
  batch.messages.push_back(Event("c1", 7, "alice", hide));
  batch.messages.push_back(Event("c1", 8, "bob", reaction, "alpha in an event"));
  StoredMessage notice = Text("c1", 9, "system", "alpha notice");
  notice.message.set_type(pb::MESSAGE_TYPE_NOTIFICATION);
  batch.messages.push_back(notice);
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "alpha")), (V{"c1/3", "c1/2", "c1/1"}))
      << "hidden at once; recall and edit change the targets in a later batch";

  WriteBatch updates;  // what the writer stores after the events
  StoredMessage recalled = Text("c1", 2, "alice", "");
  recalled.message.clear_content();
  recalled.message.set_status(pb::MESSAGE_STATUS_RECALLED);
  StoredMessage edited = Text("c1", 3, "alice", "beta three");
  edited.message.set_status(pb::MESSAGE_STATUS_EDITED);
  edited.message.set_version(2);
  edited.message.add_edit_history()->mutable_content()->set_text("alpha three");
  updates.updates = {recalled, edited};
  Write(updates);
  EXPECT_EQ(Hits(Query("alice", "alpha")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("bob", "alpha")), (V{"c1/4", "c1/1"}))
      << "a delete-for-me hides the message from its user only";
  EXPECT_EQ(Hits(Query("alice", "beta")), (V{"c1/3"}));
  EXPECT_EQ(Hits(Query("alice", "two")), V{});
}

TEST_P(MessageSearchContract, FindsAnEditStoredBeforeAnySearchByItsNewTextOnly) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice")};
  batch.messages = {Text("c1", 1, "alice", "gamma one"), Text("c1", 2, "alice", "gamma two")};
  Write(batch);
  WriteBatch updates;
  StoredMessage edited = Text("c1", 2, "alice", "delta two");
  edited.message.set_status(pb::MESSAGE_STATUS_EDITED);
  updates.updates = {edited};
  Write(updates);
  EXPECT_EQ(Hits(Query("alice", "gamma")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "delta")), (V{"c1/2"}));
}

TEST_P(MessageSearchContract, PagesWithoutGapsOrRepeats) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice"), Member("c2", "alice")};
  // Two messages share a server time: the conversation then the seq order them.
  const int64_t t = 1'700'000'000'000;
  batch.messages = {
      Text("c1", 1, "alice", "note a", t + 1), Text("c2", 1, "alice", "note b", t + 2),
      Text("c1", 2, "alice", "note c", t + 3), Text("c2", 2, "alice", "note d", t + 3),
      Text("c1", 3, "alice", "note e", t + 5)};
  Write(batch);
  const V all{"c1/3", "c2/2", "c1/2", "c2/1", "c1/1"};
  EXPECT_EQ(Hits(Query("alice", "note")), all);
  V paged;
  SearchQuery q = Query("alice", "note", 2);
  for (int pages = 1;; ++pages) {
    ASSERT_LE(pages, 3);
    auto page = under_.search->Search(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_FALSE(page->hits.empty());
    for (const auto& m : page->hits)
      paged.push_back(m.conversation_id() + "/" + std::to_string(m.seq()));
    EXPECT_EQ(page->more, pages < 3);
    if (!page->more) break;
    q.after = PositionOf(page->hits.back());
  }
  EXPECT_EQ(paged, all);
}

TEST_P(MessageSearchContract, QueryCharactersAreNeverOperators) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice")};
  batch.messages = {Text("c1", 1, "alice", "meet NEAR the e-mail desk, AND bring *stars* (or not)"),
                    Text("c1", 2, "alice", "plain words only")};
  Write(batch);
  EXPECT_EQ(Hits(Query("alice", "\"NEAR\"")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "e-mail")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "*stars*")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "AND OR")), (V{"c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "-plain")), (V{"c1/2"})) << "'-' is not NOT";
  EXPECT_EQ(Hits(Query("alice", "words:only")), (V{"c1/2"}));
  for (const char* nasty :
       {"\"", "\"\"*", "NEAR(", "^meet", "col:val", "'; DROP TABLE messages; --", "\\", "a' | 'b",
        "!x & y", "(((", "plain\" OR \"x", "\xe2\x82\xac"}) {
    auto page = under_.search->Search(Query("alice", nasty));
    EXPECT_TRUE(page.ok()) << nasty << ": " << page.status().ToString();
  }
  EXPECT_EQ(Hits(Query("alice", "plain")), (V{"c1/2"})) << "the store is intact";
}

TEST_P(MessageSearchContract, NoWordsFindNothing) {
  WriteBatch batch;
  batch.memberships = {Member("c1", "alice")};
  batch.messages = {Text("c1", 1, "alice", "anything")};
  Write(batch);
  SearchQuery q = Query("alice", "");
  auto page = under_.search->Search(q);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->hits.empty());
  EXPECT_FALSE(page->more);
}

}  // namespace
}  // namespace flare
