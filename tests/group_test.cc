#include "services/session/group.h"

#include <gtest/gtest.h>

#include "services/message_events.h"
#include "services/signaling/online/presence.h"

namespace flare {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

GroupState NewGroup(pb::ConversationType type = pb::CONVERSATION_TYPE_GROUP) {
  GroupState s;
  pb::GroupRequest create;
  create.mutable_create()->set_type(type);
  create.mutable_create()->add_member_ids("bob");
  create.mutable_create()->add_member_ids("carol");
  auto change = ApplyGroupOp(s, "alice", create, kNow, {});
  EXPECT_TRUE(change.ok());
  return s;
}

pb::GroupRequest SetRole(const std::string& user, pb::MemberRole role) {
  pb::GroupRequest r;
  r.mutable_set_role()->set_user_id(user);
  r.mutable_set_role()->set_role(role);
  return r;
}

TEST(GroupPolicy, CreatorOwnsTheGroup) {
  GroupState s = NewGroup();
  EXPECT_EQ(s.info.owner(), "alice");
  EXPECT_EQ(s.members.at("alice").role, pb::MEMBER_ROLE_OWNER);
  EXPECT_EQ(s.members.size(), 3u);
  EXPECT_EQ(s.Audience()->size(), 3u);
}

TEST(GroupPolicy, OwnershipPassesOnAndTheOldOwnerBecomesAdmin) {
  GroupState s = NewGroup();
  auto change = ApplyGroupOp(s, "alice", SetRole("bob", pb::MEMBER_ROLE_OWNER), kNow, {});
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(s.info.owner(), "bob");
  EXPECT_EQ(s.members.at("alice").role, pb::MEMBER_ROLE_ADMIN);
  EXPECT_TRUE(change->record_changed);
  pb::GroupRequest leave;
  leave.mutable_leave();
  EXPECT_TRUE(ApplyGroupOp(s, "alice", leave, kNow, {}).ok());
}

TEST(GroupPolicy, FailedOperationLeavesTheStateUnchanged) {
  GroupState s = NewGroup();
  pb::GroupRequest remove;
  remove.mutable_remove_members()->add_user_ids("carol");
  remove.mutable_remove_members()->add_user_ids("alice");
  auto change = ApplyGroupOp(s, "alice", remove, kNow, {});
  EXPECT_FALSE(change.ok());
  EXPECT_EQ(s.members.size(), 3u);
}

TEST(GroupPolicy, MuteExpires) {
  GroupState s = NewGroup();
  pb::GroupRequest mute;
  mute.mutable_mute_member()->set_user_id("bob");
  mute.mutable_mute_member()->set_muted_until_ms(kNow + 1000);
  ASSERT_TRUE(ApplyGroupOp(s, "alice", mute, kNow, {}).ok());
  EXPECT_EQ(CheckCanPost(s, "bob", kNow + 999).detail(), pb::ERROR_CODE_MUTED);
  EXPECT_TRUE(CheckCanPost(s, "bob", kNow + 1000).ok());
  EXPECT_EQ(ApplyGroupOp(s, "bob", mute, kNow, {}).status().detail(),
            pb::ERROR_CODE_PERMISSION_DENIED);
}

TEST(GroupPolicy, ChannelMembersCannotInviteOrPost) {
  GroupState s = NewGroup(pb::CONVERSATION_TYPE_CHANNEL);
  pb::GroupRequest add;
  add.mutable_add_members()->add_user_ids("dave");
  EXPECT_EQ(ApplyGroupOp(s, "bob", add, kNow, {}).status().detail(),
            pb::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(CheckCanPost(s, "bob", kNow).detail(), pb::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_TRUE(CheckCanPost(s, "alice", kNow).ok());
}

pb::Message Target(const std::string& sender, int64_t time_ms) {
  pb::Message m;
  m.set_seq(5);
  m.set_sender(sender);
  m.set_server_time_ms(time_ms);
  m.mutable_content()->set_text("original");
  return m;
}

TEST(MessageEvents, RecallWindowBindsTheSenderButNotModerators) {
  MessageOpRules rules{120'000};
  pb::MessageOpRequest recall;
  recall.mutable_recall();
  pb::Message target = Target("bob", kNow);
  EXPECT_TRUE(CheckMessageOp(recall, target, "bob", false, kNow + 120'000, rules).ok());
  EXPECT_EQ(CheckMessageOp(recall, target, "bob", false, kNow + 120'001, rules).detail(),
            pb::ERROR_CODE_RECALL_WINDOW_PASSED);
  EXPECT_TRUE(CheckMessageOp(recall, target, "alice", true, kNow + 999'999, rules).ok());
  EXPECT_EQ(CheckMessageOp(recall, target, "carol", false, kNow, rules).detail(),
            pb::ERROR_CODE_PERMISSION_DENIED);
}

TEST(MessageEvents, EditsKeepHistoryAndApplyOnce) {
  pb::Message target = Target("bob", kNow);
  pb::MessageOpRequest edit;
  edit.mutable_edit()->mutable_content()->set_text("better");
  pb::Message event;
  event.set_server_time_ms(kNow + 5);
  *event.mutable_event() = MakeEvent(edit, target);
  EXPECT_TRUE(ApplyEventToTarget(event, target));
  EXPECT_FALSE(ApplyEventToTarget(event, target)) << "replaying an event changes nothing";
  EXPECT_EQ(target.content().text(), "better");
  EXPECT_EQ(target.version(), 1);
  EXPECT_EQ(target.status(), pb::MESSAGE_STATUS_EDITED);
  ASSERT_EQ(target.edit_history_size(), 1);
  EXPECT_EQ(target.edit_history(0).content().text(), "original");
  EXPECT_EQ(target.edit_history(0).edited_ms(), kNow + 5);
}

TEST(MessageEvents, ReactionsAggregatePerEmoji) {
  pb::Message target = Target("bob", kNow);
  auto react = [&](const std::string& user, const std::string& emoji, bool add) {
    pb::Message e;
    e.set_sender(user);
    e.mutable_event()->mutable_reaction()->set_emoji(emoji);
    e.mutable_event()->mutable_reaction()->set_add(add);
    ApplyEventToTarget(e, target);
  };
  react("alice", "+1", true);
  react("carol", "+1", true);
  react("carol", "+1", true);  // once per user
  react("alice", "heart", true);
  react("alice", "heart", false);
  ASSERT_EQ(target.reactions_size(), 1);
  EXPECT_EQ(target.reactions(0).emoji(), "+1");
  EXPECT_EQ(target.reactions(0).count(), 2);
}

TEST(MessageEvents, DeleteForMeIsRedactedForOthers) {
  pb::Message e;
  e.set_seq(9);
  e.set_visible_to("carol");
  e.mutable_event()->set_target_seq(5);
  e.mutable_event()->mutable_delete_for_me();
  EXPECT_TRUE(VisibleTo(e, "carol"));
  EXPECT_FALSE(VisibleTo(e, "bob"));
  pb::Message redacted = RedactFor(e);
  EXPECT_EQ(redacted.seq(), 9);
  EXPECT_TRUE(redacted.event().has_redacted());
  EXPECT_EQ(redacted.event().target_seq(), 0);
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

TEST(LoginConflictPolicy, SingleOrPerPlatform) {
  auto all = LoginConflictPolicy::Parse("exclusive");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->For("ios"), LoginConflict::kExclusive);
  auto mixed = LoginConflictPolicy::Parse("ios=platform_exclusive,pc=exclusive,*=coexist");
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(mixed->For("ios"), LoginConflict::kPlatformExclusive);
  EXPECT_EQ(mixed->For("pc"), LoginConflict::kExclusive);
  EXPECT_EQ(mixed->For("web"), LoginConflict::kCoexist);
  EXPECT_EQ(LoginConflictPolicy::Parse("ios=platform_exclusive")->For("web"),
            LoginConflict::kCoexist);
  auto bad = LoginConflictPolicy::Parse("ios=sometimes");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("presence.login_conflict"), std::string::npos);
  EXPECT_FALSE(LoginConflictPolicy::Parse("=exclusive").ok());
  EXPECT_FALSE(LoginConflictPolicy::Parse("nonsense").ok());
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

TEST(GroupIds, ACreateRetriedWithItsKeyGetsTheSameIdAndOthersDiffer) {
  auto id = GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "alice", "create-1");
  EXPECT_EQ(id, GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "alice", "create-1"));
  EXPECT_EQ(id.rfind("group:", 0), 0u);
  EXPECT_EQ(id.size(), 6u + 26u);
  EXPECT_NE(id, GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t2", "alice", "create-1"));
  EXPECT_NE(id, GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "bob", "create-1"));
  EXPECT_NE(id, GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "alice", "create-2"));
  // Parts do not run into each other.
  EXPECT_NE(GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "ab", "c"),
            GroupIdForKey(pb::CONVERSATION_TYPE_GROUP, "t1", "a", "bc"));
  EXPECT_EQ(GroupIdForKey(pb::CONVERSATION_TYPE_CHANNEL, "t1", "alice", "k").rfind("channel:", 0),
            0u);
}

}  // namespace
}  // namespace flare
