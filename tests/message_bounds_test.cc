// What one message may accumulate (edit history, reactions, stored size)
// and how a bootstrap is paged.
#include <gtest/gtest.h>

#include <set>

#include "adapters/memory/memory_store.h"
#include "services/message_events.h"
#include "services/session/session_service.h"

namespace flare {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

pb::Message Original() {
  pb::Message m;
  m.set_seq(5);
  m.set_sender("bob");
  m.set_server_time_ms(kNow);
  m.mutable_content()->set_text("v1");
  m.set_version(1);
  return m;
}

pb::MessageOpRequest Edit(const std::string& text) {
  pb::MessageOpRequest op;
  op.mutable_edit()->mutable_content()->set_text(text);
  return op;
}

// Checks and applies `op` the way the storage writer does; returns the event.
Result<pb::Message> CheckAndApply(const pb::MessageOpRequest& op, const std::string& actor,
                                  pb::Message& target, const MessageOpRules& rules) {
  Status allowed = CheckMessageOp(op, target, actor, false, kNow, rules);
  if (!allowed.ok()) return allowed;
  pb::Message event;
  event.set_sender(actor);
  event.set_server_time_ms(kNow + target.version());
  *event.mutable_event() = MakeEvent(op, target, rules);
  ApplyEventToTarget(event, target);
  return event;
}

TEST(MessageBounds, EditsKeepOnlyTheNewestHistoryAndEveryCopyTrimsAlike) {
  MessageOpRules rules;
  rules.max_edit_history = 3;
  pb::Message server = Original(), device = Original();
  for (int v = 2; v <= 8; ++v) {
    auto event = CheckAndApply(Edit("v" + std::to_string(v)), "bob", server, rules);
    ASSERT_TRUE(event.ok()) << event.status().message();
    EXPECT_TRUE(ApplyEventToTarget(*event, device));
  }
  EXPECT_EQ(server.content().text(), "v8");
  EXPECT_EQ(server.version(), 8);
  ASSERT_EQ(server.edit_history_size(), 3);
  EXPECT_EQ(server.edit_history(0).content().text(), "v5");
  EXPECT_EQ(server.edit_history(2).content().text(), "v7");
  EXPECT_EQ(device.SerializeAsString(), server.SerializeAsString());
}

TEST(MessageBounds, AnEditDropsHistoryToFitTheStoredSizeOrIsRefused) {
  MessageOpRules rules;
  rules.max_stored_bytes = 10'000;
  pb::Message target = Original();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(CheckAndApply(Edit(std::string(3'000, 'a' + i)), "bob", target, rules).ok());
    EXPECT_LE(target.ByteSizeLong(), rules.max_stored_bytes);
  }
  EXPECT_EQ(target.edit_history_size(), 2) << "three 3 KB versions fit in 10 KB";
  EXPECT_EQ(target.content().text(), std::string(3'000, 'a' + 19));

  Status refused =
      CheckMessageOp(Edit(std::string(10'001, 'x')), target, "bob", false, kNow, rules);
  EXPECT_EQ(refused.code(), Code::kResourceExhausted);
  EXPECT_EQ(refused.detail(), pb::ERROR_CODE_MESSAGE_TOO_LARGE);
}

pb::MessageOpRequest React(const std::string& emoji, bool add = true) {
  pb::MessageOpRequest op;
  op.mutable_reaction()->set_emoji(emoji);
  op.mutable_reaction()->set_add(add);
  return op;
}

TEST(MessageBounds, DistinctReactionsAreBoundedButExistingOnesMayBeJoined) {
  MessageOpRules rules;
  rules.max_reactions = 2;
  pb::Message target = Original();
  ASSERT_TRUE(CheckAndApply(React("a"), "u1", target, rules).ok());
  ASSERT_TRUE(CheckAndApply(React("b"), "u1", target, rules).ok());
  auto refused = CheckAndApply(React("c"), "u1", target, rules);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_MESSAGE_TOO_LARGE);
  EXPECT_TRUE(CheckAndApply(React("a"), "u2", target, rules).ok());
  EXPECT_TRUE(CheckAndApply(React("b", false), "u1", target, rules).ok());
  EXPECT_TRUE(CheckAndApply(React("c"), "u1", target, rules).ok()) << "b's removal made room";
}

TEST(MessageBounds, ReactorsAreBoundedByTheStoredSize) {
  MessageOpRules rules;
  rules.max_stored_bytes = 2'000;
  pb::Message target = Original();
  int accepted = 0;
  for (int i = 0; i < 1'000; ++i) {
    if (!CheckAndApply(React("+1"), "user" + std::to_string(i), target, rules).ok()) break;
    ++accepted;
  }
  EXPECT_GT(accepted, 10);
  EXPECT_LT(accepted, 1'000);
  EXPECT_LE(target.ByteSizeLong(), rules.max_stored_bytes);
  EXPECT_TRUE(CheckAndApply(React("+1"), "user0", target, rules).ok())
      << "repeating a reaction adds nothing and is not refused";
}

TEST(BootstrapPages, PagedByConversationCountWithACursor) {
  MemoryStore store;
  WriteBatch batch;
  constexpr int kConversations = 25;
  for (int i = 0; i < kConversations; ++i) {
    MembershipRecord m;
    m.tenant = "t";
    m.conversation_id = "g" + std::to_string(100 + i);
    m.conversation_type = pb::CONVERSATION_TYPE_GROUP;
    m.user_id = "u";
    batch.memberships.push_back(m);
  }
  ASSERT_TRUE(store.Write(batch).ok());
  LocalSessionService sessions(store, store, BootstrapLimits{10, 1024 * 1024});
  Principal who{"t", "u", "d", "web", 0};

  std::vector<int> page_sizes;
  std::set<std::string> seen;
  pb::BootstrapRequest request;
  while (true) {
    auto page = sessions.Bootstrap(who, request);
    ASSERT_TRUE(page.ok());
    page_sizes.push_back(page->conversations_size());
    for (const auto& s : page->conversations()) seen.insert(s.conversation_id());
    if (!page->has_more()) break;
    request.set_cursor(page->next_cursor());
  }
  EXPECT_EQ(page_sizes, (std::vector<int>{10, 10, 5}));
  EXPECT_EQ(seen.size(), static_cast<size_t>(kConversations));
}

}  // namespace
}  // namespace flare
