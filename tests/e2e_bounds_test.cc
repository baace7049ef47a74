// Bounds on what one message may accumulate and on every reply: a message
// edited or reacted to without end, a long history of large messages, and
// a user in many conversations stay syncable against a real `flare serve`.
#include <gtest/gtest.h>

#include <set>

#include "client/conversation_view.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::CreateGroup;
using testing::Inbox;
using testing::Op;
using testing::ServerProcess;
using testing::ToConversation;

// Close to the default gateway.max_message_bytes (32 KiB).
constexpr size_t kLargeText = 30'000;
// Defaults of sync.max_page_bytes, messages.max_stored_bytes and
// messages.max_reactions.
constexpr size_t kPageBytes = 1024 * 1024;
constexpr size_t kStoredBytes = 256 * 1024;
constexpr int kMaxReactions = 50;

std::string LargeText(int i) {
  return std::to_string(i) + std::string(kLargeText, static_cast<char>('a' + i % 26));
}

std::unique_ptr<FlareClient> Connected(const ServerProcess& server, const std::string& user,
                                       const std::string& device = "d1") {
  auto c = std::make_unique<FlareClient>(server.Options(user, device));
  EXPECT_TRUE(c->Connect().ok());
  return c;
}

template <typename List>
size_t EntryBytes(const List& list) {
  size_t bytes = 0;
  for (const auto& entry : list) bytes += entry.ByteSizeLong();
  return bytes;
}

TEST(E2eBounds, AMessageEditedHundredsOfTimesStaysSyncableByEveryMember) {
  // A reader may queue 2 MiB: more than a bounded message or page, much less
  // than what these edits would pile onto an unbounded message.
  ServerProcess server(
      {{"FLARE_GATEWAY_MAX_SEND_QUEUE_BYTES", "2097152"},
       {"FLARE_STORAGE_DURABILITY", "normal"},
       {"FLARE_LIMITS_MESSAGE_OPS_PER_SECOND", "0"}});  // hundreds of edits at once
  auto alice = Connected(server, "alice");
  auto carol = std::make_unique<FlareClient>(server.Options("carol"));
  Inbox carol_inbox(*carol);  // online throughout: gets the edits pushed
  ASSERT_TRUE(carol->Connect().ok());
  auto conv = alice->Group(CreateGroup({"bob", "carol"}))->info().conversation_id();
  auto target = *alice->Send(ToConversation(conv, "original"));
  constexpr int kEdits = 300;
  int64_t last_seq = 0;
  for (int i = 1; i <= kEdits; ++i) {
    auto edit = Op(conv, target.seq());
    edit.mutable_edit()->mutable_content()->set_text(LargeText(i));
    auto ack = alice->MessageOp(edit);
    ASSERT_TRUE(ack.ok()) << "edit " << i << ": " << ack.status().message();
    last_seq = ack->seq();
  }

  // Bob comes online afterwards and syncs the whole history.
  auto bob = std::make_unique<FlareClient>(server.Options("bob"));
  Inbox bob_inbox(*bob);
  ASSERT_TRUE(bob->Connect().ok());
  ConversationView bob_view("bob"), carol_view("carol");
  for (const auto& m : bob_inbox.WaitFor(static_cast<size_t>(last_seq))) bob_view.Apply(m);
  for (const auto& m : carol_inbox.WaitFor(static_cast<size_t>(last_seq))) carol_view.Apply(m);
  EXPECT_EQ(bob->reconnects(), 0) << "bob's connection was closed while syncing";
  EXPECT_EQ(carol->reconnects(), 0);

  ASSERT_EQ(bob_view.messages().count(target.seq()), 1u);
  const pb::Message& edited = bob_view.messages().at(target.seq());
  EXPECT_EQ(edited.content().text(), LargeText(kEdits));
  EXPECT_EQ(edited.version(), kEdits);
  EXPECT_GT(edited.edit_history_size(), 0);
  EXPECT_LE(edited.edit_history_size(), 10);
  EXPECT_EQ(edited.edit_history().rbegin()->content().text(), LargeText(kEdits - 1));
  EXPECT_LE(edited.ByteSizeLong(), kStoredBytes);
  // Carol applied every edit to her copy, trimming as the server did.
  std::string difference;
  EXPECT_TRUE(carol_view.SameAs(bob_view, &difference)) << difference;
}

TEST(E2eBounds, DistinctReactionsBeyondTheLimitAreRefused) {
  ServerProcess server({{"FLARE_STORAGE_DURABILITY", "normal"}});
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob");
  auto target = *alice->SendText("bob", "react to me");
  auto react = [&](FlareClient& who, const std::string& emoji) {
    auto op = Op(target.conversation_id(), target.seq());
    op.mutable_reaction()->set_emoji(emoji);
    op.mutable_reaction()->set_add(true);
    return who.MessageOp(op);
  };
  for (int i = 0; i < kMaxReactions; ++i) {
    ASSERT_TRUE(react(*alice, "e" + std::to_string(i)).ok()) << i;
  }
  auto refused = react(*alice, "one too many");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(refused.status().detail(), pb::ERROR_CODE_MESSAGE_TOO_LARGE);
  EXPECT_NE(refused.status().message().find(std::to_string(kMaxReactions)), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(react(*bob, "e0").ok()) << "joining a reaction that exists is still allowed";

  auto page = bob->Sync(target.conversation_id(), target.seq() - 1, 1);
  ASSERT_TRUE(page.ok());
  const pb::Message& stored = page->messages(0);
  EXPECT_EQ(stored.reactions_size(), kMaxReactions);
  for (const auto& r : stored.reactions()) EXPECT_EQ(r.count(), r.emoji() == "e0" ? 2 : 1);
}

TEST(E2eBounds, SyncPagesOfLargeMessagesStayUnderTheByteBudget) {
  ServerProcess server({{"FLARE_STORAGE_DURABILITY", "normal"}});
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob");
  constexpr int kMessages = 60;  // 1.8 MB in all
  std::string conv;
  for (int i = 0; i < kMessages; ++i)
    conv = alice->SendText("bob", LargeText(i))->conversation_id();

  std::vector<int64_t> seqs;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    auto page = bob->Sync(conv, seqs.empty() ? 0 : seqs.back(), 500);
    ASSERT_TRUE(page.ok());
    ASSERT_GT(page->messages_size(), 0) << "a page holds at least one message";
    EXPECT_LE(EntryBytes(page->messages()), kPageBytes);
    for (const auto& m : page->messages()) seqs.push_back(m.seq());
    more = page->has_more();
  }
  EXPECT_GE(pages, 2);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kMessages));
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
}

TEST(E2eBounds, BootstrapIsPagedAndTheClientAssemblesEveryPage) {
  ServerProcess server({{"FLARE_STORAGE_DURABILITY", "normal"}});
  auto alice = Connected(server, "alice");
  constexpr int kPeers = 40;  // each conversation's last message is large: 1.2 MB in all
  std::set<std::string> convs;
  for (int i = 0; i < kPeers; ++i) {
    convs.insert(alice->SendText("peer" + std::to_string(i), LargeText(i))->conversation_id());
  }

  pb::ClientFrame first_page;
  first_page.mutable_bootstrap();
  auto first = alice->Call(first_page);
  ASSERT_TRUE(first.ok() && first->has_bootstrap_result());
  const auto& page = first->bootstrap_result();
  EXPECT_TRUE(page.has_more());
  EXPECT_FALSE(page.next_cursor().empty());
  EXPECT_LT(page.conversations_size(), kPeers);
  EXPECT_LE(EntryBytes(page.conversations()), kPageBytes);

  auto all = alice->Bootstrap();
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_FALSE(all->has_more());
  std::set<std::string> listed;
  for (const auto& s : all->conversations()) listed.insert(s.conversation_id());
  EXPECT_EQ(listed, convs);
  EXPECT_EQ(all->conversations_size(), kPeers) << "no conversation listed twice";

  // A new device catches up on every conversation, past the first page.
  auto laptop = std::make_unique<FlareClient>(server.Options("alice", "laptop"));
  Inbox inbox(*laptop);
  ASSERT_TRUE(laptop->Connect().ok());
  std::set<std::string> synced;
  for (const auto& m : inbox.WaitFor(kPeers)) synced.insert(m.conversation_id());
  EXPECT_EQ(synced, convs);
}

}  // namespace
}  // namespace flare
