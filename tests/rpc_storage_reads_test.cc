// StorageReaderService.History, GetMessages and Search end to end: a real gRPC
// server on a free loopback port serving a LocalStorageReader over a
// MemoryStore, the client called through the StorageReader interface and
// compared with the local reader. A group where a member joined late and
// one message is a delete-for-me event of another member.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "adapters/memory/memory_store.h"
#include "rpc/common/rpc_server.h"
#include "rpc/storage_reader/storage_reader_grpc.h"
#include "support/group_texts.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::google::protobuf::util::MessageDifferencer;

std::vector<int64_t> Seqs(const pb::SyncResult& page) {
  std::vector<int64_t> out;
  for (const auto& m : page.messages()) out.push_back(m.seq());
  return out;
}

class RpcStorageReads : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch batch;
    for (auto [user, joined] : {std::pair{"alice", 0}, {"bob", 0}, {"carol", 5}}) {
      MembershipRecord member;
      member.tenant = "t";
      member.conversation_id = "g1";
      member.conversation_type = pb::CONVERSATION_TYPE_GROUP;
      member.user_id = user;
      member.joined_seq = joined;
      batch.memberships.push_back(member);
    }
    testing::AppendGroupTexts(batch, "g1", 8, "bob");
    // Seq 6: bob deleted seq 2 for himself; the others see it redacted.
    Message& event = batch.messages[5].message;
    event.set_type(pb::MESSAGE_TYPE_EVENT);
    event.clear_content();
    event.mutable_event()->set_target_seq(2);
    event.mutable_event()->mutable_delete_for_me();
    event.set_visible_to("bob");
    ASSERT_TRUE(store_.Write(batch).ok());

    service_ = NewStorageReaderGrpcService(local_);
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    RpcOptions options;
    options.deadline_ms = 5'000;
    client_ = NewStorageReaderGrpcClient(
        OpenRpcChannel("127.0.0.1:" + std::to_string(server_->port())), options);
  }

  // The client's answer, checked equal to the local reader's.
  Result<pb::SyncResult> History(const Principal& who, int64_t before, int limit) {
    HistoryQuery query{"g1", "", before, limit};
    auto local = local_.History(who, query);
    auto remote = client_->History(who, query);
    Compare(local, remote);
    return remote;
  }
  Result<pb::SyncResult> Get(const Principal& who, std::vector<int64_t> seqs) {
    GetMessagesQuery query{"g1", "", std::move(seqs)};
    auto local = local_.GetMessages(who, query);
    auto remote = client_->GetMessages(who, query);
    Compare(local, remote);
    return remote;
  }
  static void Compare(const Result<pb::SyncResult>& local, const Result<pb::SyncResult>& remote) {
    ASSERT_EQ(local.ok(), remote.ok()) << remote.status().ToString();
    if (local.ok()) {
      EXPECT_TRUE(MessageDifferencer::Equals(*local, *remote)) << remote->DebugString();
    } else {
      EXPECT_EQ(local.status().code(), remote.status().code());
      EXPECT_EQ(local.status().detail(), remote.status().detail());
      EXPECT_EQ(local.status().message(), remote.status().message());
    }
  }

  MemoryStore store_;
  ConversationAccess access_{store_};
  DurableFence fence_;
  LocalStorageReader local_{store_, access_, SyncLimits{3, 3, 1024 * 1024}, &fence_, &store_};
  RpcServicePtr service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<StorageReader> client_;
  Principal alice_{"t", "alice", "phone", "ios"};
  Principal bob_{"t", "bob", "web", "web"};
  Principal carol_{"t", "carol", "web", "web"};
  Principal dave_{"t", "dave", "web", "web"};
};

TEST_F(RpcStorageReads, HistoryPagesBackNewestFirst) {
  auto first = History(alice_, 0, 10);  // capped at max_limit 3
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Seqs(*first), (std::vector<int64_t>{8, 7, 6}));
  EXPECT_TRUE(first->has_more());
  EXPECT_EQ(first->max_seq(), 8);
  EXPECT_EQ(first->visible_from_seq(), 1);
  EXPECT_EQ(first->messages(0).content().text(), "hi 8");
  const pb::Message& redacted = first->messages(2);
  EXPECT_TRUE(redacted.event().has_redacted()) << "bob's delete-for-me, as alice sees it";
  EXPECT_TRUE(redacted.visible_to().empty());

  auto second = History(alice_, 6, 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Seqs(*second), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_TRUE(second->has_more());
  auto last = History(alice_, 3, 3);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Seqs(*last), (std::vector<int64_t>{2, 1}));
  EXPECT_FALSE(last->has_more());
}

TEST_F(RpcStorageReads, HistoryShowsTheOwnDeleteForMeEventToItsUser) {
  auto page = History(bob_, 7, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages_size(), 1);
  EXPECT_TRUE(page->messages(0).event().has_delete_for_me());
  EXPECT_EQ(page->messages(0).event().target_seq(), 2);
}

TEST_F(RpcStorageReads, HistoryStopsAtTheJoinPoint) {
  auto page = History(carol_, 7, 3);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Seqs(*page), (std::vector<int64_t>{6, 5}));
  EXPECT_FALSE(page->has_more()) << "nothing before her join";
  EXPECT_EQ(page->visible_from_seq(), 5);
  auto before = History(carol_, 5, 3);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->messages_size(), 0);
  EXPECT_FALSE(before->has_more());
}

TEST_F(RpcStorageReads, HistoryRefusesNonMembersAndBadArguments) {
  auto refused = History(dave_, 0, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
  auto negative = History(alice_, -1, 3);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), Code::kInvalidArgument);
}

TEST_F(RpcStorageReads, GetMessagesReturnsWhatTheCallerMaySeeInSeqOrder) {
  auto mine = Get(alice_, {7, 2, 6, 2, 42});
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  EXPECT_EQ(Seqs(*mine), (std::vector<int64_t>{2, 6, 7})) << "42 is not stored";
  EXPECT_EQ(mine->messages(0).content().text(), "hi 2");
  EXPECT_TRUE(mine->messages(1).event().has_redacted());
  EXPECT_FALSE(mine->has_more());

  auto carols = Get(carol_, {2, 4, 5, 6});
  ASSERT_TRUE(carols.ok());
  EXPECT_EQ(Seqs(*carols), (std::vector<int64_t>{5, 6})) << "nothing before her join";
  EXPECT_EQ(carols->visible_from_seq(), 5);

  auto bobs = Get(bob_, {6});
  ASSERT_TRUE(bobs.ok());
  ASSERT_EQ(bobs->messages_size(), 1);
  EXPECT_TRUE(bobs->messages(0).event().has_delete_for_me());
}

TEST_F(RpcStorageReads, GetMessagesRefusesNonMembersAndBadArguments) {
  auto refused = Get(dave_, {1});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
  std::vector<int64_t> many(GetMessagesQuery::kMaxSeqs + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int64_t>(i) + 1;
  auto too_many = Get(alice_, many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), Code::kInvalidArgument);
  auto zero = Get(alice_, {0});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), Code::kInvalidArgument);
}

TEST_F(RpcStorageReads, NeitherServesWhatIsNotDurableYet) {
  fence_.Hold(1, {{ConversationKey("t", "g1"), 8}});
  auto page = History(alice_, 0, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Seqs(*page), (std::vector<int64_t>{7}))
      << "the page before 9 without the held 8; has_more says older ones exist";
  EXPECT_TRUE(page->has_more());
  EXPECT_EQ(page->max_seq(), 7);
  auto got = Get(alice_, {7, 8});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<int64_t>{7}));
  fence_.Release(1);
  got = Get(alice_, {7, 8});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<int64_t>{7, 8}));
}

TEST_F(RpcStorageReads, PagesAreCutBySizeAsSyncsAre) {
  LocalStorageReader small(store_, access_, SyncLimits{100, 500, 1});
  auto history = small.History(alice_, HistoryQuery{"g1", "", 4, 3});
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(Seqs(*history), (std::vector<int64_t>{3}));
  EXPECT_TRUE(history->has_more());
  auto got = small.GetMessages(alice_, GetMessagesQuery{"g1", "", {1, 2}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<int64_t>{1}));
  EXPECT_TRUE(got->has_more()) << "ask again for the seqs after 1";
}

// Every page of `text` over gRPC, each checked equal to the local reader's.
std::vector<int64_t> SearchSeqs(StorageReader& local, StorageReader& remote, const Principal& who,
                                const std::string& text) {
  pb::SearchRequest request;
  request.set_text(text);
  request.set_limit(2);
  std::vector<int64_t> seqs;
  for (int pages = 0; pages < 10; ++pages) {
    auto mine = local.Search(who, request);
    auto theirs = remote.Search(who, request);
    EXPECT_TRUE(mine.ok() && theirs.ok()) << theirs.status().ToString();
    if (!mine.ok() || !theirs.ok()) break;
    EXPECT_TRUE(MessageDifferencer::Equals(*mine, *theirs)) << theirs->DebugString();
    for (const auto& m : theirs->messages()) seqs.push_back(m.seq());
    if (theirs->next_page_token().empty()) break;
    request.set_page_token(theirs->next_page_token());
  }
  return seqs;
}

TEST_F(RpcStorageReads, SearchAnswersAsTheLocalReaderDoes) {
  EXPECT_EQ(SearchSeqs(local_, *client_, alice_, "hi"),
            (std::vector<int64_t>{8, 7, 5, 4, 3, 2, 1}));
  EXPECT_EQ(SearchSeqs(local_, *client_, bob_, "hi"), (std::vector<int64_t>{8, 7, 5, 4, 3, 1}))
      << "bob deleted seq 2 for himself";
  EXPECT_EQ(SearchSeqs(local_, *client_, carol_, "HI"), (std::vector<int64_t>{8, 7, 5}))
      << "from carol's join point";
  EXPECT_EQ(SearchSeqs(local_, *client_, dave_, "hi"), std::vector<int64_t>{});

  pb::SearchRequest empty;
  auto refused = client_->Search(alice_, empty);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), local_.Search(alice_, empty).status().message());
  pb::SearchRequest not_his;
  not_his.set_text("hi");
  not_his.set_conversation_id("g1");
  auto denied = client_->Search(dave_, not_his);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(denied.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
}

}  // namespace
}  // namespace flare
