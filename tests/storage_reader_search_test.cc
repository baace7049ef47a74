// LocalStorageReader::Search over the memory store: request checks, page
// tokens, the size cut, the durable fence and membership.
#include <gtest/gtest.h>

#include "adapters/memory/memory_store.h"
#include "common/ids.h"
#include "services/conversation_access.h"
#include "services/storage/durable_fence.h"
#include "services/storage/reader/storage_reader.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

class ReaderSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch members;
    members.memberships = {{"t1", "g1", pb::CONVERSATION_TYPE_GROUP, "alice", 1},
                           {"t1", "g2", pb::CONVERSATION_TYPE_GROUP, "bob", 1}};
    ASSERT_TRUE(store_.Write(members).ok());
  }

  void WriteText(const std::string& conv, int64_t seq, const std::string& text) {
    WriteBatch batch;
    StoredMessage sm;
    sm.tenant = "t1";
    sm.message.set_conversation_id(conv);
    sm.message.set_seq(seq);
    sm.message.set_sender("alice");
    sm.message.set_client_msg_id(conv + std::to_string(seq));
    sm.message.set_type(pb::MESSAGE_TYPE_TEXT);
    sm.message.set_server_time_ms(1'700'000'000'000 + seq);
    sm.message.mutable_content()->set_text(text);
    batch.messages.push_back(sm);
    ASSERT_TRUE(store_.Write(batch).ok());
  }

  static pb::SearchRequest Request(const std::string& text, int limit = 0,
                                   const std::string& token = "") {
    pb::SearchRequest r;
    r.set_text(text);
    r.set_limit(limit);
    r.set_page_token(token);
    return r;
  }

  Code CodeOf(const pb::SearchRequest& request) {
    auto result = reader_.Search(alice_, request);
    return result.ok() ? Code::kOk : result.status().code();
  }

  MemoryStore store_;
  ConversationAccess access_{store_};
  DurableFence fence_;
  LocalStorageReader reader_{store_, access_, SyncLimits{}, &fence_, &store_};
  Principal alice_{"t1", "alice", "d1", "ios"};
};

TEST_F(ReaderSearch, RefusesMalformedRequestsAsInvalidArgument) {
  EXPECT_EQ(CodeOf(Request("")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request(" \t ")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request(std::string(257, 'a'))), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request(std::string(256, 'a'))), Code::kOk);
  EXPECT_EQ(CodeOf(Request("caf\xc3")), Code::kInvalidArgument) << "cut UTF-8";
  EXPECT_EQ(CodeOf(Request("\xff")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request("caf\xc3\xa9")), Code::kOk);
  EXPECT_EQ(CodeOf(Request("x", -1)), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request("x", 0, "not a token!")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Request("x", 0, "eHl6")), Code::kInvalidArgument) << "base64 of 'xyz'";
  auto empty = reader_.Search(alice_, Request(""));
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
}

TEST_F(ReaderSearch, OnlySeparatorsFindNothing) {
  WriteText("g1", 1, "a * b");
  auto result = reader_.Search(alice_, Request("* \" - ()"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->messages_size(), 0);
  EXPECT_TRUE(result->next_page_token().empty());
}

TEST_F(ReaderSearch, PagesThroughEveryHitWithTokens) {
  for (int seq = 1; seq <= 5; ++seq) WriteText("g1", seq, "report " + std::to_string(seq));
  std::vector<int64_t> seqs;
  std::string token;
  int pages = 0;
  do {
    auto result = reader_.Search(alice_, Request("report", 2, token));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const auto& m : result->messages()) seqs.push_back(m.seq());
    token = result->next_page_token();
    ASSERT_LE(++pages, 3);
  } while (!token.empty());
  EXPECT_EQ(seqs, (std::vector<int64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(pages, 3);
}

TEST_F(ReaderSearch, CapsTheLimit) {
  WriteBatch batch;
  for (int seq = 1; seq <= 120; ++seq) {
    StoredMessage sm;
    sm.tenant = "t1";
    sm.message.set_conversation_id("g1");
    sm.message.set_seq(seq);
    sm.message.set_client_msg_id("k" + std::to_string(seq));
    sm.message.set_server_time_ms(seq);
    sm.message.mutable_content()->set_text("many");
    batch.messages.push_back(sm);
  }
  ASSERT_TRUE(store_.Write(batch).ok());
  auto big = reader_.Search(alice_, Request("many", 1000));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->messages_size(), SearchLimits::kMaxLimit);
  EXPECT_FALSE(big->next_page_token().empty());
  auto fallback = reader_.Search(alice_, Request("many"));
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->messages_size(), SearchLimits::kDefaultLimit);
}

TEST_F(ReaderSearch, CutsAPageBySizeAndGoesOnFromTheCut) {
  for (int seq = 1; seq <= 3; ++seq) WriteText("g1", seq, "big " + std::string(600, 'x'));
  LocalStorageReader small(store_, access_, SyncLimits{100, 500, 1000}, nullptr, &store_);
  std::vector<int64_t> seqs;
  std::string token;
  do {
    auto result = small.Search(alice_, Request("big", 10, token));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->messages_size(), 1) << "one message fits, and one always goes";
    seqs.push_back(result->messages(0).seq());
    token = result->next_page_token();
  } while (!token.empty() && seqs.size() < 5);
  EXPECT_EQ(seqs, (std::vector<int64_t>{3, 2, 1}));
}

TEST_F(ReaderSearch, LeavesOutWhatIsNotDurableYet) {
  WriteText("g1", 1, "draft one");
  fence_.Hold(7, {{ConversationKey("t1", "g1"), 2}});
  WriteText("g1", 2, "draft two");
  auto held = reader_.Search(alice_, Request("draft"));
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->messages_size(), 1);
  EXPECT_EQ(held->messages(0).seq(), 1);
  fence_.Release(7);
  auto released = reader_.Search(alice_, Request("draft"));
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->messages_size(), 2);
}

TEST_F(ReaderSearch, ChecksTheNamedConversation) {
  WriteText("g1", 1, "hello mine");
  WriteText("g2", 1, "hello theirs");
  pb::SearchRequest theirs = Request("hello");
  theirs.set_conversation_id("g2");
  auto refused = reader_.Search(alice_, theirs);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  pb::SearchRequest mine = Request("hello");
  mine.set_conversation_id("g1");
  auto found = reader_.Search(alice_, mine);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->messages_size(), 1);
  EXPECT_EQ(found->messages(0).conversation_id(), "g1");
  auto all = reader_.Search(alice_, Request("hello"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->messages_size(), 1) << "g2 is not alice's";
}

TEST_F(ReaderSearch, WithoutASearchPortItIsAnError) {
  LocalStorageReader none(store_, access_, SyncLimits{});
  auto result = none.Search(alice_, Request("x"));
  EXPECT_FALSE(result.ok());
}

}  // namespace
}  // namespace flare
