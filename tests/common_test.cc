#include <gtest/gtest.h>

#include <set>

#include "common/ids.h"
#include "common/result.h"
#include "common/xml_escape.h"

namespace flare {
namespace {

class CountingRandom : public Random {
 public:
  uint64_t Next() override { return ++n_ * 0x9E3779B97F4A7C15ull; }

 private:
  uint64_t n_ = 0;
};

TEST(Ulid, Has26CrockfordCharactersAndSortsByTime) {
  CountingRandom random;
  std::string a = MakeUlid(1'700'000'000'000, random);
  std::string b = MakeUlid(1'700'000'000'001, random);
  ASSERT_EQ(a.size(), 26u);
  EXPECT_EQ(a.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_NE(MakeUlid(5, random), MakeUlid(5, random));
}

TEST(SingleConversationId, IsTheSameFromBothSides) {
  EXPECT_EQ(SingleConversationId("bob", "alice"), SingleConversationId("alice", "bob"));
  EXPECT_EQ(SingleConversationId("bob", "alice"), "single:alice:bob");
  auto parsed = ParseSingleConversationId("single:alice:bob");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first, "alice");
  EXPECT_EQ(parsed->second, "bob");
}

TEST(SingleConversationId, RejectsMalformedIds) {
  EXPECT_FALSE(ParseSingleConversationId("group:x").has_value());
  EXPECT_FALSE(ParseSingleConversationId("single:bob:alice").has_value());  // not ordered
  EXPECT_FALSE(ParseSingleConversationId("single:alice").has_value());
  EXPECT_FALSE(ParseSingleConversationId("single:al ice:bob").has_value());
}

TEST(IsValidId, AcceptsOnlyTheDocumentedCharacters) {
  EXPECT_TRUE(IsValidId("user_1.a@b-c"));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("a:b"));
  EXPECT_FALSE(IsValidId(std::string(129, 'a')));
}

TEST(Result, CarriesAValue) {
  const Result<std::string> ok(std::string("seven"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "seven");
  EXPECT_TRUE(ok.status().ok());
}

TEST(Result, CarriesAnError) {
  const Result<int> bad = NotFound("nothing here");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_EQ(bad.status().ToString(), "NOT_FOUND: nothing here");
}

TEST(XmlEscape, EscapesTheFiveSpecialCharactersAndKeepsTheRest) {
  EXPECT_EQ(XmlEscape(R"(<a href="x">Tom & Jerry's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;");
  EXPECT_EQ(XmlEscape("plain text, ünïcode"), "plain text, ünïcode");
}

}  // namespace
}  // namespace flare
