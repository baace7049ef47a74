// Groups and channels against a real `flare serve`.
#include <gtest/gtest.h>

#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::CreateGroup;
using testing::Inbox;
using testing::Members;
using testing::Notices;
using testing::ServerProcess;
using testing::ToConversation;

int ErrorOf(const Status& st) { return st.detail(); }

pb::GroupRequest On(const std::string& conv) {
  pb::GroupRequest r;
  r.set_conversation_id(conv);
  return r;
}

class E2eGroups : public ::testing::Test {
 protected:
  explicit E2eGroups(std::map<std::string, std::string> env = {}) : server_(std::move(env)) {}
  std::unique_ptr<FlareClient> Client(const std::string& user, const std::string& device = "d1") {
    auto c = std::make_unique<FlareClient>(server_.Options(user, device));
    EXPECT_TRUE(c->Connect().ok());
    return c;
  }
  ServerProcess server_;
};

TEST_F(E2eGroups, MembersReceiveEveryMessageAndTheCreationEvent) {
  auto alice = Client("alice");
  auto bob = std::make_unique<FlareClient>(server_.Options("bob"));
  Inbox bob_inbox(*bob);
  ASSERT_TRUE(bob->Connect().ok());
  auto created = alice->Group(CreateGroup({"bob", "carol"}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string conv = created->info().conversation_id();
  EXPECT_EQ(conv.rfind("group:", 0), 0u);
  EXPECT_EQ(created->seq(), 1);
  EXPECT_EQ(created->info().member_count(), 3);
  EXPECT_EQ(created->info().owner(), "alice");
  ASSERT_TRUE(alice->Send(ToConversation(conv, "hello team")).ok());

  auto got = bob_inbox.WaitFor(2);
  EXPECT_EQ(got[0].event().membership().action(), pb::MembershipEvent::ACTION_CREATED);
  EXPECT_EQ(got[1].content().text(), "hello team");
  EXPECT_EQ(got[1].conversation_type(), pb::CONVERSATION_TYPE_GROUP);

  auto carol = std::make_unique<FlareClient>(server_.Options("carol"));
  Inbox carol_inbox(*carol);
  ASSERT_TRUE(carol->Connect().ok());  // offline until now: syncs both
  EXPECT_EQ(carol_inbox.WaitFor(2)[1].content().text(), "hello team");
}

TEST_F(E2eGroups, RolesDecideWhoManagesTheGroup) {
  auto alice = Client("alice"), bob = Client("bob"), carol = Client("carol");
  auto conv = alice->Group(CreateGroup({"bob", "carol"}))->info().conversation_id();

  pb::GroupRequest rename = On(conv);
  rename.mutable_update()->set_name("renamed");
  EXPECT_EQ(ErrorOf(bob->Group(rename).status()), pb::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(ErrorOf(bob->Group(Members(conv, {"carol"}, false)).status()),
            pb::ERROR_CODE_PERMISSION_DENIED);

  pb::GroupRequest promote = On(conv);
  promote.mutable_set_role()->set_user_id("bob");
  promote.mutable_set_role()->set_role(pb::MEMBER_ROLE_ADMIN);
  EXPECT_EQ(ErrorOf(carol->Group(promote).status()), pb::ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(alice->Group(promote).ok());
  auto renamed = bob->Group(rename);
  ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
  EXPECT_EQ(renamed->info().settings().name(), "renamed");

  ASSERT_TRUE(bob->Group(Members(conv, {"carol"}, false)).ok());  // admin removes a member
  EXPECT_EQ(ErrorOf(carol->Send(ToConversation(conv, "still here?")).status()),
            pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(carol->Sync(conv, 0, 10).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrorOf(bob->Group(Members(conv, {"alice"}, false)).status()),
            pb::ERROR_CODE_PERMISSION_DENIED);  // an admin cannot remove the owner

  pb::GroupRequest leave = On(conv);
  leave.mutable_leave();
  EXPECT_EQ(ErrorOf(alice->Group(leave).status()), pb::ERROR_CODE_CONFLICT);
  ASSERT_TRUE(bob->Group(leave).ok());
  pb::GroupRequest info = On(conv);
  info.mutable_info();
  auto now = alice->Group(info);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->info().member_count(), 1);
  EXPECT_EQ(now->info().members(0).user_id(), "alice");
}

TEST_F(E2eGroups, MutedMembersAndMutedGroupsCannotPost) {
  auto alice = Client("alice"), bob = Client("bob");
  auto conv = alice->Group(CreateGroup({"bob"}))->info().conversation_id();
  pb::GroupRequest mute = On(conv);
  mute.mutable_mute_member()->set_user_id("bob");
  mute.mutable_mute_member()->set_muted_until_ms(int64_t{1} << 50);
  ASSERT_TRUE(alice->Group(mute).ok());
  EXPECT_EQ(ErrorOf(bob->Send(ToConversation(conv, "x")).status()), pb::ERROR_CODE_MUTED);
  mute.mutable_mute_member()->set_muted_until_ms(0);
  ASSERT_TRUE(alice->Group(mute).ok());
  EXPECT_TRUE(bob->Send(ToConversation(conv, "unmuted")).ok());

  pb::GroupRequest all = On(conv);
  all.mutable_mute_all()->set_muted(true);
  EXPECT_EQ(ErrorOf(bob->Group(all).status()), pb::ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(alice->Group(all).ok());
  EXPECT_EQ(ErrorOf(bob->Send(ToConversation(conv, "x")).status()), pb::ERROR_CODE_MUTED);
  EXPECT_TRUE(alice->Send(ToConversation(conv, "owner may speak")).ok());
}

TEST_F(E2eGroups, OnlyOwnersAndAdminsPostInChannels) {
  auto alice = Client("alice");
  auto bob = std::make_unique<FlareClient>(server_.Options("bob"));
  Inbox inbox(*bob);
  ASSERT_TRUE(bob->Connect().ok());
  auto created = alice->Group(CreateGroup({"bob"}, pb::CONVERSATION_TYPE_CHANNEL));
  ASSERT_TRUE(created.ok());
  auto conv = created->info().conversation_id();
  EXPECT_EQ(conv.rfind("channel:", 0), 0u);
  EXPECT_EQ(ErrorOf(bob->Send(ToConversation(conv, "can I?")).status()),
            pb::ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(alice->Send(ToConversation(conv, "announcement")).ok());
  auto got = inbox.WaitFor(2);
  EXPECT_EQ(got[1].content().text(), "announcement");
  EXPECT_EQ(got[1].conversation_type(), pb::CONVERSATION_TYPE_CHANNEL);
}

TEST_F(E2eGroups, LateMembersSeeHistoryFromTheirJoinUnlessTheGroupSharesIt) {
  auto alice = Client("alice");
  auto hidden = alice->Group(CreateGroup({"bob"}))->info().conversation_id();
  auto shared = alice->Group(CreateGroup({"bob"}, pb::CONVERSATION_TYPE_GROUP, true))
                    ->info()
                    .conversation_id();
  for (const auto& conv : {hidden, shared}) {
    ASSERT_TRUE(alice->Send(ToConversation(conv, "before dave")).ok());
    auto added = alice->Group(Members(conv, {"dave"}, true));
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_EQ(added->seq(), 3);
    ASSERT_TRUE(alice->Send(ToConversation(conv, "after dave")).ok());
  }
  auto dave = std::make_unique<FlareClient>(server_.Options("dave"));
  ASSERT_TRUE(dave->Connect().ok());
  auto from_join = dave->Sync(hidden, 0, 100);
  ASSERT_TRUE(from_join.ok());
  ASSERT_EQ(from_join->messages_size(), 2);
  EXPECT_EQ(from_join->messages(0).event().membership().action(),
            pb::MembershipEvent::ACTION_JOINED);
  EXPECT_EQ(from_join->visible_from_seq(), 3);
  auto everything = dave->Sync(shared, 0, 100);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->messages_size(), 4);

  auto boot = dave->Bootstrap();
  ASSERT_TRUE(boot.ok());
  for (const auto& c : boot->conversations()) {
    EXPECT_EQ(c.unread(), c.conversation_id() == hidden ? 1 : 2) << c.conversation_id();
    EXPECT_EQ(c.name(), "team");
  }
}

TEST_F(E2eGroups, LateMembersCannotActOnOrCountHistoryBeforeTheirJoin) {
  auto alice = Client("alice");
  auto hidden = alice->Group(CreateGroup({"bob"}))->info().conversation_id();
  auto shared = alice->Group(CreateGroup({"bob"}, pb::CONVERSATION_TYPE_GROUP, true))
                    ->info()
                    .conversation_id();
  std::map<std::string, int64_t> before, after;
  for (const auto& conv : {hidden, shared}) {
    before[conv] = alice->Send(ToConversation(conv, "before dave"))->seq();
    ASSERT_TRUE(alice->Group(Members(conv, {"dave"}, true)).ok());
    after[conv] = alice->Send(ToConversation(conv, "after dave"))->seq();
  }
  auto dave = Client("dave");
  auto react = [&](const std::string& conv, int64_t seq) {
    auto op = testing::Op(conv, seq);
    op.mutable_reaction()->set_emoji("+1");
    op.mutable_reaction()->set_add(true);
    return dave->MessageOp(op).status();
  };
  auto delete_for_me = [&](const std::string& conv, int64_t seq) {
    auto op = testing::Op(conv, seq);
    op.mutable_delete_for_me();
    return dave->MessageOp(op).status();
  };
  auto read_count = [&](const std::string& conv, int64_t seq) {
    pb::ClientFrame count;
    count.mutable_read_count()->set_conversation_id(conv);
    count.mutable_read_count()->set_seq(seq);
    return dave->Call(count);
  };
  EXPECT_EQ(ErrorOf(react(hidden, before[hidden])), pb::ERROR_CODE_NOT_FOUND);
  EXPECT_EQ(ErrorOf(delete_for_me(hidden, before[hidden])), pb::ERROR_CODE_NOT_FOUND);
  EXPECT_EQ(read_count(hidden, before[hidden])->error().code(), pb::ERROR_CODE_NOT_FOUND);
  // From the join point on, and in a group that shares its history, all is allowed.
  EXPECT_TRUE(react(hidden, after[hidden]).ok());
  EXPECT_TRUE(read_count(hidden, after[hidden])->has_read_count_result());
  EXPECT_TRUE(react(shared, before[shared]).ok());
  EXPECT_TRUE(read_count(shared, before[shared])->has_read_count_result());
}

TEST_F(E2eGroups, DismissedGroupsRefuseSends) {
  auto alice = Client("alice"), bob = Client("bob");
  auto conv = alice->Group(CreateGroup({"bob"}))->info().conversation_id();
  pb::GroupRequest dismiss = On(conv);
  dismiss.mutable_dismiss();
  EXPECT_EQ(ErrorOf(bob->Group(dismiss).status()), pb::ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(alice->Group(dismiss).ok());
  EXPECT_EQ(ErrorOf(bob->Send(ToConversation(conv, "x")).status()), pb::ERROR_CODE_GROUP_DISMISSED);
  EXPECT_TRUE(bob->Sync(conv, 0, 10).ok()) << "history stays readable";
}

TEST_F(E2eGroups, NonMembersAreRefusedEverywhere) {
  auto alice = Client("alice"), mallory = Client("mallory");
  auto conv = alice->Group(CreateGroup({"bob"}))->info().conversation_id();
  ASSERT_TRUE(alice->Send(ToConversation(conv, "members only")).ok());
  EXPECT_EQ(ErrorOf(mallory->Send(ToConversation(conv, "x")).status()), pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(ErrorOf(mallory->Sync(conv, 0, 10).status()), pb::ERROR_CODE_NOT_MEMBER);
  auto react = testing::Op(conv, 2);
  react.mutable_reaction()->set_emoji("+1");
  react.mutable_reaction()->set_add(true);
  EXPECT_EQ(ErrorOf(mallory->MessageOp(react).status()), pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(ErrorOf(mallory->MarkRead(conv, 1)), pb::ERROR_CODE_NOT_MEMBER);
  pb::GroupRequest info = On(conv);
  info.mutable_info();
  EXPECT_EQ(ErrorOf(mallory->Group(info).status()), pb::ERROR_CODE_NOT_MEMBER);
  pb::ClientFrame typing;
  typing.mutable_typing()->set_conversation_id(conv);
  auto reply = mallory->Call(typing);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->error().code(), pb::ERROR_CODE_NOT_MEMBER);
}

class E2eGroupLimits : public E2eGroups {
 protected:
  E2eGroupLimits() : E2eGroups({{"FLARE_GROUPS_MAX_MEMBERS", "3"}}) {}
};

TEST_F(E2eGroupLimits, MemberLimitIsEnforced) {
  auto alice = Client("alice");
  EXPECT_EQ(ErrorOf(alice->Group(CreateGroup({"b", "c", "d"})).status()),
            pb::ERROR_CODE_MEMBER_LIMIT);
  auto conv = alice->Group(CreateGroup({"b", "c"}))->info().conversation_id();
  EXPECT_EQ(ErrorOf(alice->Group(Members(conv, {"d"}, true)).status()),
            pb::ERROR_CODE_MEMBER_LIMIT);
}

}  // namespace
}  // namespace flare
