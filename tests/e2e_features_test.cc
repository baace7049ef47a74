// Large groups, read state, message events, typing and presence against a
// real `flare serve`.
#include <gtest/gtest.h>

#include "client/conversation_view.h"
#include "services/signaling/online/token.h"
#include "support/frames.h"
#include "support/inbox.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::CreateGroup;
using testing::Inbox;
using testing::Notices;
using testing::Op;
using testing::ServerProcess;
using testing::ToConversation;

std::unique_ptr<FlareClient> Connected(const ServerProcess& server, const std::string& user,
                                       const std::string& device = "d1") {
  auto c = std::make_unique<FlareClient>(server.Options(user, device));
  EXPECT_TRUE(c->Connect().ok());
  return c;
}

TEST(E2eLargeGroups, NoMemberMissesAMessageInEitherDeliveryMode) {
  ServerProcess server({{"FLARE_GROUPS_LARGE_GROUP_THRESHOLD", "4"}});
  std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4", "u5"};
  std::vector<std::unique_ptr<FlareClient>> clients;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  std::vector<std::unique_ptr<Notices>> notices;
  for (const auto& u : users) {
    clients.push_back(std::make_unique<FlareClient>(server.Options(u)));
    inboxes.push_back(std::make_unique<Inbox>(*clients.back()));
    notices.push_back(std::make_unique<Notices>(*clients.back()));
    ASSERT_TRUE(clients.back()->Connect().ok());
  }
  // Small: 4 members, pushed in full. Large: 6 members, "advanced" notices and pulls.
  auto small = clients[0]->Group(CreateGroup({"u1", "u2", "u3"}))->info().conversation_id();
  auto large =
      clients[0]->Group(CreateGroup({"u1", "u2", "u3", "u4", "u5"}))->info().conversation_id();
  constexpr int kMessages = 60;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(clients[i % 3]->Send(ToConversation(small, "s" + std::to_string(i))).ok());
    ASSERT_TRUE(clients[i % 3]->Send(ToConversation(large, "l" + std::to_string(i))).ok());
  }
  for (size_t u = 0; u < users.size(); ++u) {
    bool in_small = u < 4;
    auto got = inboxes[u]->WaitFor((in_small ? 2 : 1) * (kMessages + 1));
    std::map<std::string, std::vector<int64_t>> seqs;
    for (const auto& m : got) seqs[m.conversation_id()].push_back(m.seq());
    for (const auto& [conv, list] : seqs) {
      ASSERT_EQ(list.size(), static_cast<size_t>(kMessages + 1)) << users[u] << " " << conv;
      for (size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i], static_cast<int64_t>(i + 1));
    }
    size_t advanced_small = notices[u]->Count([&](const pb::ServerFrame& f) {
      return f.has_advanced() && f.advanced().conversation_id() == small;
    });
    EXPECT_EQ(advanced_small, 0u) << "small groups are pushed in full";
  }
  // Members that did not send into the large group learned of it by notice.
  size_t advanced_large = notices[5]->Count([&](const pb::ServerFrame& f) {
    return f.has_advanced() && f.advanced().conversation_id() == large;
  });
  EXPECT_GE(advanced_large, 1u);
}

TEST(E2eReadState, ReadCursorSyncsAcrossDevicesAndReachesThePeer) {
  ServerProcess server;
  auto alice = Connected(server, "alice");
  auto bob1 = Connected(server, "bob", "phone");
  auto bob2 = std::make_unique<FlareClient>(server.Options("bob", "laptop"));
  Notices bob2_notices(*bob2), alice_notices(*alice);
  ASSERT_TRUE(bob2->Connect().ok());
  pb::SendAck last;
  for (int i = 0; i < 3; ++i) last = *alice->SendText("bob", "m" + std::to_string(i));
  ASSERT_TRUE(bob1->MarkRead(last.conversation_id(), 2).ok());

  auto own = bob2_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_read_notice(); });
  EXPECT_EQ(own.read_notice().seq(), 2);
  EXPECT_EQ(own.read_notice().user_id(), "bob");
  auto receipt =
      alice_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_read_notice(); });
  EXPECT_EQ(receipt.read_notice().user_id(), "bob");
  EXPECT_EQ(receipt.read_notice().seq(), 2);
  EXPECT_EQ(bob2->ReadSeq(last.conversation_id()), 2);

  auto boot = bob2->Bootstrap();
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->conversations(0).read_seq(), 2);
  EXPECT_EQ(boot->conversations(0).unread(), 1);
  ASSERT_TRUE(bob1->MarkRead(last.conversation_id(), 99).ok());  // clamped to the last seq
  EXPECT_EQ(bob2->Bootstrap()->conversations(0).read_seq(), 3);
}

TEST(E2eReadState, GroupReadCountsAndMentions) {
  ServerProcess server;
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob"),
       carol = Connected(server, "carol");
  auto conv = alice->Group(CreateGroup({"bob", "carol"}))->info().conversation_id();
  pb::SendRequest hello = ToConversation(conv, "@carol look");
  hello.add_mentions()->set_user_id("carol");
  auto sent = alice->Send(hello);
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(alice->Send(ToConversation(conv, "no mention")).ok());

  pb::ClientFrame count;
  count.mutable_read_count()->set_conversation_id(conv);
  count.mutable_read_count()->set_seq(sent->seq());
  EXPECT_EQ(alice->Call(count)->read_count_result().read_count(), 0);
  ASSERT_TRUE(bob->MarkRead(conv, sent->seq()).ok());
  auto after = alice->Call(count);
  EXPECT_EQ(after->read_count_result().read_count(), 1);
  EXPECT_EQ(after->read_count_result().member_count(), 3);

  auto carol_boot = carol->Bootstrap();
  ASSERT_TRUE(carol_boot.ok());
  EXPECT_TRUE(carol_boot->conversations(0).mentioned());
  EXPECT_EQ(carol_boot->conversations(0).unread(), 2);
  EXPECT_FALSE(bob->Bootstrap()->conversations(0).mentioned());
  EXPECT_EQ(alice->Bootstrap()->conversations(0).unread(), 0) << "own messages are never unread";
}

TEST(E2eMessageOps, RecallEditReactAndDeleteForMe) {
  ServerProcess server;
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob"),
       carol = Connected(server, "carol");
  auto conv = alice->Group(CreateGroup({"bob", "carol"}))->info().conversation_id();
  auto first = *bob->Send(ToConversation(conv, "first"));
  auto second = *bob->Send(ToConversation(conv, "second"));

  auto recall = Op(conv, first.seq());
  recall.mutable_recall();
  EXPECT_EQ(carol->MessageOp(recall).status().detail(), pb::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_TRUE(bob->MessageOp(recall).ok());
  EXPECT_EQ(bob->MessageOp(recall).status().detail(), pb::ERROR_CODE_CONFLICT);

  auto edit = Op(conv, second.seq());
  edit.mutable_edit()->mutable_content()->set_text("second, edited");
  EXPECT_EQ(alice->MessageOp(edit).status().detail(), pb::ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(bob->MessageOp(edit).ok());
  edit.mutable_edit()->mutable_content()->set_text("second, edited twice");
  ASSERT_TRUE(bob->MessageOp(edit).ok());

  for (auto* who : {alice.get(), carol.get()}) {
    auto react = Op(conv, second.seq());
    react.mutable_reaction()->set_emoji("+1");
    react.mutable_reaction()->set_add(true);
    ASSERT_TRUE(who->MessageOp(react).ok());
  }
  auto hide = Op(conv, second.seq());
  hide.mutable_delete_for_me();
  auto hidden = carol->MessageOp(hide);
  ASSERT_TRUE(hidden.ok());

  auto page = alice->Sync(conv, 0, 100);
  ASSERT_TRUE(page.ok());
  std::map<int64_t, pb::Message> by_seq;
  for (const auto& m : page->messages()) by_seq[m.seq()] = m;
  EXPECT_EQ(by_seq[first.seq()].status(), pb::MESSAGE_STATUS_RECALLED);
  EXPECT_TRUE(by_seq[first.seq()].content().text().empty());
  const auto& edited = by_seq[second.seq()];
  EXPECT_EQ(edited.content().text(), "second, edited twice");
  EXPECT_EQ(edited.version(), 2);
  ASSERT_EQ(edited.edit_history_size(), 2);
  EXPECT_EQ(edited.edit_history(0).content().text(), "second");
  ASSERT_EQ(edited.reactions_size(), 1);
  EXPECT_EQ(edited.reactions(0).count(), 2);
  EXPECT_TRUE(by_seq[hidden->seq()].event().has_redacted()) << "carol's deletion is hers alone";

  // Carol's other device learns of the deletion by syncing.
  auto carol2 = std::make_unique<FlareClient>(server.Options("carol", "tablet"));
  Inbox inbox(*carol2);
  ASSERT_TRUE(carol2->Connect().ok());
  ConversationView view("carol");
  for (const auto& m : inbox.WaitFor(static_cast<size_t>(hidden->seq()))) view.Apply(m);
  EXPECT_EQ(view.hidden().count(second.seq()), 1u);
  EXPECT_EQ(view.messages().at(first.seq()).status(), pb::MESSAGE_STATUS_RECALLED);
}

TEST(E2eSignals, TypingIsRelayedAndRateLimited) {
  ServerProcess server;
  auto alice = Connected(server, "alice");
  auto bob = std::make_unique<FlareClient>(server.Options("bob"));
  Notices notices(*bob);
  ASSERT_TRUE(bob->Connect().ok());
  auto ack = alice->SendText("bob", "hi");
  pb::ClientFrame typing;
  typing.mutable_typing()->set_conversation_id(ack->conversation_id());
  EXPECT_TRUE(alice->Call(typing)->has_ok());
  auto notice = notices.WaitFor([](const pb::ServerFrame& f) { return f.has_typing(); });
  EXPECT_EQ(notice.typing().user_id(), "alice");
  EXPECT_EQ(alice->Call(typing)->error().code(), pb::ERROR_CODE_RATE_LIMITED);
  EXPECT_EQ(bob->Sync(ack->conversation_id(), 0, 10)->messages_size(), 1) << "typing is not stored";
}

TEST(E2eSignals, PresenceSubscriptionsAndQueries) {
  ServerProcess server;
  auto alice = std::make_unique<FlareClient>(server.Options("alice"));
  Notices notices(*alice);
  ASSERT_TRUE(alice->Connect().ok());
  ASSERT_TRUE(alice->SendText("bob", "hi").ok());  // presence is visible to contacts
  pb::ClientFrame sub;
  sub.mutable_presence()->add_subscribe("bob");
  sub.mutable_presence()->add_query("bob");
  sub.mutable_presence()->add_query("alice");
  auto reply = alice->Call(sub);
  ASSERT_TRUE(reply.ok() && reply->has_presence_result());
  EXPECT_FALSE(reply->presence_result().statuses(0).online());
  EXPECT_TRUE(reply->presence_result().statuses(1).online());
  {
    auto bob = Connected(server, "bob");
    auto online = notices.WaitFor([](const pb::ServerFrame& f) {
      return f.has_presence_notice() && f.presence_notice().online();
    });
    EXPECT_EQ(online.presence_notice().user_id(), "bob");
  }
  auto offline = notices.WaitFor([](const pb::ServerFrame& f) {
    return f.has_presence_notice() && !f.presence_notice().online();
  });
  EXPECT_EQ(offline.presence_notice().user_id(), "bob");

  pb::ClientFrame too_many;
  for (int i = 0; i < 101; ++i) too_many.mutable_presence()->add_query("u" + std::to_string(i));
  EXPECT_EQ(alice->Call(too_many)->error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);
}

pb::ClientFrame PresenceOf(const std::string& user, bool subscribe) {
  pb::ClientFrame frame;
  if (subscribe) frame.mutable_presence()->add_subscribe(user);
  frame.mutable_presence()->add_query(user);
  return frame;
}

TEST(E2eSignals, PresenceIsVisibleOnlyToUsersWhoShareAConversation) {
  ServerProcess server;
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob"),
       carol = Connected(server, "carol"), mallory = Connected(server, "mallory");
  ASSERT_TRUE(alice->SendText("bob", "hi").ok());
  ASSERT_TRUE(alice->Group(CreateGroup({"carol"})).ok());
  for (bool subscribe : {false, true}) {
    for (const char* stranger : {"alice", "bob", "carol"}) {
      auto reply = mallory->Call(PresenceOf(stranger, subscribe));
      ASSERT_TRUE(reply.ok());
      EXPECT_EQ(reply->error().code(), pb::ERROR_CODE_PERMISSION_DENIED) << stranger;
      EXPECT_FALSE(reply->has_presence_result());
    }
    EXPECT_EQ(bob->Call(PresenceOf("carol", subscribe))->error().code(),
              pb::ERROR_CODE_PERMISSION_DENIED)
        << "bob and carol share nothing";
  }
  auto one_to_one = bob->Call(PresenceOf("alice", true));
  ASSERT_TRUE(one_to_one->has_presence_result()) << one_to_one->DebugString();
  EXPECT_TRUE(one_to_one->presence_result().statuses(0).online());
  auto group = carol->Call(PresenceOf("alice", true));
  ASSERT_TRUE(group->has_presence_result()) << group->DebugString();
  EXPECT_TRUE(group->presence_result().statuses(0).online());
  EXPECT_TRUE(mallory->Call(PresenceOf("mallory", true))->has_presence_result()) << "oneself";
}

TEST(E2eSignals, TenantWidePresenceIsAConfigChoice) {
  ServerProcess server({{"FLARE_PRESENCE_VISIBILITY", "tenant"}});
  auto alice = Connected(server, "alice"), mallory = Connected(server, "mallory");
  auto reply = mallory->Call(PresenceOf("alice", true));
  ASSERT_TRUE(reply->has_presence_result()) << reply->DebugString();
  EXPECT_TRUE(reply->presence_result().statuses(0).online());
}

TEST(E2eSignals, PlatformExclusiveLoginKicksOnlyTheSamePlatform) {
  ServerProcess server({{"FLARE_PRESENCE_LOGIN_CONFLICT", "phone=platform_exclusive,*=coexist"}});
  auto options = [&](const std::string& device, const std::string& platform) {
    ClientOptions o = server.Options("alice", device);
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    o.token = *TokenSigner(testing::kTestSecret)
                   .Issue({"default", "alice", device, platform, 0}, now, 600);
    return o;
  };
  FlareClient old_phone(options("p1", "phone")), laptop(options("l1", "web"));
  Notices phone_notices(old_phone), laptop_notices(laptop);
  ASSERT_TRUE(old_phone.Connect().ok());
  ASSERT_TRUE(laptop.Connect().ok());
  FlareClient new_phone(options("p2", "phone"));
  ASSERT_TRUE(new_phone.Connect().ok());
  phone_notices.WaitFor([](const pb::ServerFrame& f) { return f.has_kicked(); });
  // The laptop still works and was not kicked.
  EXPECT_TRUE(laptop.SendText("bob", "still here").ok());
  EXPECT_EQ(laptop_notices.Count([](const pb::ServerFrame& f) { return f.has_kicked(); }), 0u);
}

TEST(E2eSignals, ExclusiveLoginKicksTheOtherDevice) {
  ServerProcess server({{"FLARE_PRESENCE_LOGIN_CONFLICT", "exclusive"}});
  auto first = std::make_unique<FlareClient>(server.Options("alice", "phone"));
  Notices notices(*first);
  ASSERT_TRUE(first->Connect().ok());
  auto second = Connected(server, "alice", "laptop");
  auto kicked = notices.WaitFor([](const pb::ServerFrame& f) { return f.has_kicked(); });
  EXPECT_FALSE(kicked.kicked().reason().empty());
  EXPECT_TRUE(second->SendText("bob", "I am the one").ok());
}

}  // namespace
}  // namespace flare
