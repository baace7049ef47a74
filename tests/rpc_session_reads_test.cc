// SessionService.Members, Cursor and Group end to end: a real gRPC server
// on a free loopback port serving a LocalSessionService over a MemoryStore,
// the client called through the SessionService interface and compared with
// the local service.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>

#include "adapters/memory/memory_store.h"
#include "rpc/common/rpc_server.h"
#include "rpc/session/session_grpc.h"
#include "support/group_texts.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::google::protobuf::util::MessageDifferencer;

// The service beneath the server: fails the first `failures` calls with
// UNAVAILABLE and counts every call.
class FlakySessions final : public SessionService {
 public:
  explicit FlakySessions(SessionService& inner) : inner_(inner) {}
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};

  using SessionService::Bootstrap;
  Result<pb::BootstrapResult> Bootstrap(const Principal& who,
                                        const pb::BootstrapRequest& request) override {
    if (Fail()) return Unavailable("injected fault");
    return inner_.Bootstrap(who, request);
  }
  Result<MemberPage> Members(const Principal& who, const MembersQuery& query) override {
    if (Fail()) return Unavailable("injected fault");
    return inner_.Members(who, query);
  }
  Result<pb::ConversationSummary> Cursor(const Principal& who,
                                         const ConversationTarget& target) override {
    if (Fail()) return Unavailable("injected fault");
    return inner_.Cursor(who, target);
  }
  Result<pb::GroupInfo> Group(const Principal& who, const std::string& conversation_id) override {
    if (Fail()) return Unavailable("injected fault");
    return inner_.Group(who, conversation_id);
  }

 private:
  bool Fail() {
    ++calls;
    return failures.fetch_sub(1) > 0;
  }
  SessionService& inner_;
};

void ExpectSameError(const Status& local, const Status& remote) {
  EXPECT_EQ(local.code(), remote.code()) << remote.ToString();
  EXPECT_EQ(local.detail(), remote.detail());
  EXPECT_EQ(local.message(), remote.message());
}

class RpcSessionReads : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch batch;
    pb::GroupInfo info;
    info.set_conversation_id("g1");
    info.set_type(pb::CONVERSATION_TYPE_GROUP);
    info.mutable_settings()->set_name("Team");
    info.set_owner("alice");
    info.set_muted_all(true);
    batch.conversations.push_back({"t", "g1", info.SerializeAsString()});
    struct Row {
      const char* user;
      int role;
      int64_t muted_until_ms, joined_seq;
    };
    for (const Row& row :
         {Row{"carol", pb::MEMBER_ROLE_MEMBER, 0, 3}, Row{"alice", pb::MEMBER_ROLE_OWNER, 0, 0},
          Row{"bob", pb::MEMBER_ROLE_ADMIN, 9'000, 0}}) {
      MembershipRecord member;
      member.tenant = "t";
      member.conversation_id = "g1";
      member.conversation_type = pb::CONVERSATION_TYPE_GROUP;
      member.user_id = row.user;
      member.role = row.role;
      member.muted_until_ms = row.muted_until_ms;
      member.joined_seq = row.joined_seq;
      batch.memberships.push_back(member);
    }
    testing::AppendGroupTexts(batch, "g1", 4, "bob");
    batch.messages[2].message.add_mentions()->set_user_id("alice");  // seq 3
    batch.cursors.push_back(CursorUpdate{"t", "g1", "alice", 3, 1});
    ASSERT_TRUE(store_.Write(batch).ok());

    service_ = NewSessionGrpcService(flaky_);
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    RpcOptions options;
    options.deadline_ms = 5'000;
    options.retry = RetryPolicy{3, 20, 1'000, 0};
    client_ = NewSessionGrpcClient(OpenRpcChannel("127.0.0.1:" + std::to_string(server_->port())),
                                   options, RpcSeams{&clock_, &random_, &sleeper_});
  }

  Result<MemberPage> Members(const Principal& who, MembersQuery query) {
    auto local = local_.Members(who, query);
    auto remote = client_->Members(who, query);
    EXPECT_EQ(local.ok(), remote.ok()) << remote.status().ToString();
    if (!local.ok() || !remote.ok()) {
      if (!local.ok() && !remote.ok()) ExpectSameError(local.status(), remote.status());
      return remote;
    }
    EXPECT_EQ(local->conversation_id, remote->conversation_id);
    EXPECT_EQ(local->member_count, remote->member_count);
    EXPECT_EQ(local->has_more, remote->has_more);
    EXPECT_EQ(local->next_cursor, remote->next_cursor);
    EXPECT_EQ(local->members.size(), remote->members.size());
    for (size_t i = 0; i < std::min(local->members.size(), remote->members.size()); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(local->members[i], remote->members[i]));
    }
    return remote;
  }
  template <typename T>
  static void Compare(const Result<T>& local, const Result<T>& remote) {
    ASSERT_EQ(local.ok(), remote.ok()) << remote.status().ToString();
    if (local.ok()) {
      EXPECT_TRUE(MessageDifferencer::Equals(*local, *remote)) << remote->DebugString();
    } else {
      ExpectSameError(local.status(), remote.status());
    }
  }
  Result<pb::ConversationSummary> Cursor(const Principal& who, ConversationTarget target) {
    auto remote = client_->Cursor(who, target);
    Compare(local_.Cursor(who, target), remote);
    return remote;
  }
  Result<pb::GroupInfo> Group(const Principal& who, const std::string& conversation_id) {
    auto remote = client_->Group(who, conversation_id);
    Compare(local_.Group(who, conversation_id), remote);
    return remote;
  }

  MemoryStore store_;
  LocalSessionService local_{store_, store_, BootstrapLimits{2, 1024 * 1024, 2, 2}};
  FlakySessions flaky_{local_};
  RpcServicePtr service_;
  std::unique_ptr<RpcServer> server_;
  ManualClock clock_;
  testing::StepRandom random_;
  testing::ClockSleeper sleeper_{clock_};
  std::unique_ptr<SessionService> client_;
  Principal alice_{"t", "alice", "laptop", "web"};
  Principal carol_{"t", "carol", "phone", "ios"};
  Principal dave_{"t", "dave", "phone", "ios"};
};

TEST_F(RpcSessionReads, MembersComePagedInUserIdOrderWithRoles) {
  auto first = Members(alice_, MembersQuery{{"g1", ""}, "", 0});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->conversation_id, "g1");
  EXPECT_EQ(first->member_count, 3);
  ASSERT_EQ(first->members.size(), 2u) << "two per page";
  EXPECT_EQ(first->members[0].user_id(), "alice");
  EXPECT_EQ(first->members[0].role(), pb::MEMBER_ROLE_OWNER);
  EXPECT_EQ(first->members[1].user_id(), "bob");
  EXPECT_EQ(first->members[1].role(), pb::MEMBER_ROLE_ADMIN);
  EXPECT_EQ(first->members[1].muted_until_ms(), 9'000);
  EXPECT_TRUE(first->has_more);
  EXPECT_EQ(first->next_cursor, "bob");

  auto second = Members(carol_, MembersQuery{{"g1", ""}, first->next_cursor, 5});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->members.size(), 1u);
  EXPECT_EQ(second->members[0].user_id(), "carol");
  EXPECT_EQ(second->members[0].joined_seq(), 3);
  EXPECT_FALSE(second->has_more);
}

TEST_F(RpcSessionReads, MembersOfAOneToOneConversationAreItsTwoUsers) {
  auto page = Members(alice_, MembersQuery{{"", "bob"}, "", 0});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->conversation_id, SingleConversationId("alice", "bob"));
  ASSERT_EQ(page->members.size(), 2u);
  EXPECT_EQ(page->members[0].user_id(), "alice");
  EXPECT_EQ(page->members[1].user_id(), "bob");
}

TEST_F(RpcSessionReads, MembersAreRefusedToNonMembers) {
  auto group = Members(dave_, MembersQuery{{"g1", ""}, "", 0});
  ASSERT_FALSE(group.ok());
  EXPECT_EQ(group.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(group.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
  auto single = Members(dave_, MembersQuery{{SingleConversationId("alice", "bob"), ""}, "", 0});
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(single.status().code(), Code::kPermissionDenied);
}

TEST_F(RpcSessionReads, CursorIsTheCallersSummaryOfOneConversation) {
  auto alice = Cursor(alice_, {"g1", ""});
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->conversation_id(), "g1");
  EXPECT_EQ(alice->read_seq(), 1);
  EXPECT_EQ(alice->delivered_seq(), 3);
  EXPECT_EQ(alice->max_seq(), 4);
  EXPECT_EQ(alice->unread(), 3);
  EXPECT_TRUE(alice->mentioned());
  EXPECT_EQ(alice->name(), "Team");
  EXPECT_EQ(alice->last_message().content().text(), "hi 4");

  auto carol = Cursor(carol_, {"g1", ""});
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->unread(), 1) << "only what came after her join";
  EXPECT_FALSE(carol->mentioned());

  auto single = Cursor(alice_, {"", "bob"});
  ASSERT_TRUE(single.ok()) << "a 1:1 conversation without messages yet";
  EXPECT_EQ(single->peer_user_id(), "bob");
  EXPECT_EQ(single->max_seq(), 0);
  EXPECT_EQ(single->unread(), 0);
}

TEST_F(RpcSessionReads, CursorIsRefusedToNonMembers) {
  auto refused = Cursor(dave_, {"g1", ""});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
}

TEST_F(RpcSessionReads, GroupIsTheRecordWithoutMembers) {
  auto info = Group(carol_, "g1");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->conversation_id(), "g1");
  EXPECT_EQ(info->type(), pb::CONVERSATION_TYPE_GROUP);
  EXPECT_EQ(info->settings().name(), "Team");
  EXPECT_EQ(info->owner(), "alice");
  EXPECT_TRUE(info->muted_all());
  EXPECT_EQ(info->member_count(), 3);
  EXPECT_EQ(info->members_size(), 0);
}

TEST_F(RpcSessionReads, GroupIsRefusedToNonMembersAndForOneToOne) {
  auto refused = Group(dave_, "g1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
  auto single = Group(alice_, SingleConversationId("alice", "bob"));
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(single.status().code(), Code::kInvalidArgument);
}

TEST_F(RpcSessionReads, EachReadIsRetriedAfterUnavailable) {
  flaky_.failures = 1;
  auto members = client_->Members(alice_, MembersQuery{{"g1", ""}, "", 0});
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  EXPECT_EQ(members->member_count, 3);
  flaky_.failures = 1;
  auto cursor = client_->Cursor(alice_, {"g1", ""});
  ASSERT_TRUE(cursor.ok()) << cursor.status().ToString();
  EXPECT_EQ(cursor->read_seq(), 1);
  flaky_.failures = 1;
  auto group = client_->Group(alice_, "g1");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(group->owner(), "alice");
  EXPECT_EQ(flaky_.calls.load(), 6) << "each failed once, then was answered";
  EXPECT_EQ(sleeper_.sleeps().size(), 3u);
}

}  // namespace
}  // namespace flare
