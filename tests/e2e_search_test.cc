// Message search against a real `flare serve`: what a user finds after
// sends, a recall, an edit and a delete-for-me, in pages; the request
// errors a client sees. Also run on PostgreSQL and Redis (E2eCoreOnPostgresAndRedis).
#include <gtest/gtest.h>

#include <algorithm>

#include "support/frames.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::CreateGroup;
using testing::Op;
using testing::ServerProcess;
using testing::ToConversation;

std::unique_ptr<FlareClient> Connected(const ServerProcess& server, const std::string& user) {
  auto c = std::make_unique<FlareClient>(server.Options(user));
  EXPECT_TRUE(c->Connect().ok());
  return c;
}

pb::SearchRequest Search(const std::string& text, const std::string& conv = "", int limit = 0,
                         const std::string& token = "") {
  pb::SearchRequest r;
  r.set_text(text);
  r.set_conversation_id(conv);
  r.set_limit(limit);
  r.set_page_token(token);
  return r;
}

// The texts of every hit, page after page, newest first.
std::vector<std::string> AllHits(FlareClient& client, const std::string& text,
                                 const std::string& conv = "", int limit = 0) {
  std::vector<std::string> texts;
  std::string token;
  for (int pages = 0; pages < 20; ++pages) {
    auto page = client.Search(Search(text, conv, limit, token));
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    for (const auto& m : page->messages()) texts.push_back(m.content().text());
    token = page->next_page_token();
    if (token.empty()) break;
  }
  return texts;
}

using Texts = std::vector<std::string>;

Texts Sorted(Texts texts) {
  std::sort(texts.begin(), texts.end());
  return texts;
}

TEST(E2eSearch, FindsWhatEachUserMayReadAfterRecallEditAndDeleteForMe) {
  ServerProcess server;
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob"),
       carol = Connected(server, "carol");
  auto group = alice->Group(CreateGroup({"bob", "carol"}));
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  const std::string conv = group->info().conversation_id();
  auto s1 = bob->Send(ToConversation(conv, "quarterly report draft"));
  auto s2 = bob->Send(ToConversation(conv, "quarterly numbers look wrong"));
  auto s3 = bob->Send(ToConversation(conv, "lunch at noon?"));
  auto s4 = bob->Send(ToConversation(conv, "quarterly plan attached"));
  auto d1 = alice->SendText("bob", "quarterly review, just us");
  for (const auto* ack : {&s1, &s2, &s3, &s4, &d1}) ASSERT_TRUE(ack->ok());

  auto recall = Op(conv, s2->seq());
  recall.mutable_recall();
  ASSERT_TRUE(bob->MessageOp(recall).ok());
  auto edit = Op(conv, s3->seq());
  edit.mutable_edit()->mutable_content()->set_text("quarterly lunch at noon");
  ASSERT_TRUE(bob->MessageOp(edit).ok());
  auto hide = Op(conv, s4->seq());
  hide.mutable_delete_for_me();
  ASSERT_TRUE(alice->MessageOp(hide).ok());

  // Acked means stored: searchable at once, no waiting. Within a
  // conversation hits come newest first; across conversations two sends
  // may share a millisecond, so those lists are compared sorted.
  EXPECT_EQ(
      Sorted(AllHits(*alice, "quarterly")),
      (Texts{"quarterly lunch at noon", "quarterly report draft", "quarterly review, just us"}));
  EXPECT_EQ(Sorted(AllHits(*bob, "QUARTER")),
            (Texts{"quarterly lunch at noon", "quarterly plan attached", "quarterly report draft",
                   "quarterly review, just us"}))
      << "alice's delete-for-me is hers alone";
  EXPECT_EQ(AllHits(*carol, "quarterly"),
            (Texts{"quarterly plan attached", "quarterly lunch at noon", "quarterly report draft"}))
      << "not the 1:1 of alice and bob";
  EXPECT_EQ(AllHits(*alice, "quarterly", conv),
            (Texts{"quarterly lunch at noon", "quarterly report draft"}));
  EXPECT_EQ(AllHits(*alice, "lunch noon"), (Texts{"quarterly lunch at noon"}));
  EXPECT_EQ(AllHits(*alice, "wrong"), Texts{}) << "recalled";
  EXPECT_EQ(AllHits(*bob, "quarterly", "", 1), AllHits(*bob, "quarterly"))
      << "pages of one hit, linked by their tokens";

  auto one = alice->Search(Search("review", "", 1));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->messages_size(), 1);
  const auto& hit = one->messages(0);
  EXPECT_EQ(hit.sender(), "alice");
  EXPECT_EQ(hit.conversation_id(), d1->conversation_id());
  EXPECT_EQ(hit.seq(), d1->seq());
  EXPECT_EQ(hit.server_time_ms(), d1->server_time_ms());
  EXPECT_TRUE(one->next_page_token().empty());
  auto paged = alice->Search(Search("quarterly", "", 1));
  ASSERT_TRUE(paged.ok());
  EXPECT_FALSE(paged->next_page_token().empty());
}

TEST(E2eSearch, BadRequestsAreAnsweredWithErrors) {
  ServerProcess server;
  auto alice = Connected(server, "alice"), bob = Connected(server, "bob"),
       carol = Connected(server, "carol");
  auto dm = alice->SendText("bob", "near the end");
  ASSERT_TRUE(dm.ok());

  pb::ClientFrame empty;
  *empty.mutable_search() = Search("");
  auto reply = alice->Call(empty);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);

  pb::ClientFrame too_long;
  *too_long.mutable_search() = Search(std::string(300, 'q'));
  EXPECT_EQ(alice->Call(too_long)->error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);

  pb::ClientFrame bad_token;
  *bad_token.mutable_search() = Search("near", "", 0, "forged");
  EXPECT_EQ(alice->Call(bad_token)->error().code(), pb::ERROR_CODE_INVALID_ARGUMENT);

  EXPECT_FALSE(carol->Search(Search("near", dm->conversation_id())).ok())
      << "carol is not in the 1:1";
  EXPECT_TRUE(carol->Search(Search("near"))->messages().empty());

  // Query language characters are words or separators, never operators.
  for (const char* text : {"\"NEAR\"", "NEAR(", "near*", "-near", "near:end", "' OR 1=1 --"}) {
    auto page = bob->Search(Search(text));
    ASSERT_TRUE(page.ok()) << text << ": " << page.status().ToString();
  }
  EXPECT_EQ(bob->Search(Search("\"NEAR\" end"))->messages_size(), 1);
  EXPECT_EQ(bob->Search(Search("***"))->messages_size(), 0);
}

}  // namespace
}  // namespace flare
