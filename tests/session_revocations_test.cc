// SessionRevocations over the in-memory SettingsStore, and over a wrapper
// that fails: which tokens a revocation refuses, and that a store it cannot
// read lets nobody in.
#include "services/signaling/online/session_revocations.h"

#include <gtest/gtest.h>

#include <atomic>

#include "adapters/memory/memory_settings_store.h"
#include "common/clock.h"

namespace flare {
namespace {

// Fails every call while `failing` is set; otherwise the memory store.
class FailingSettingsStore final : public SettingsStore {
 public:
  Result<VersionedDocument> Get(const std::string& key) override {
    if (failing) return Unavailable("settings store down");
    return inner.Get(key);
  }
  Result<int64_t> Put(const std::string& key, int64_t expected_version,
                      const std::string& value) override {
    if (failing) return Unavailable("settings store down");
    return inner.Put(key, expected_version, value);
  }
  MemorySettingsStore inner;
  std::atomic<bool> failing{false};
};

class SessionRevocationsTest : public ::testing::Test {
 protected:
  Principal Token(const std::string& user, int64_t issued_at_s,
                  const std::string& tenant = "acme") {
    Principal who{tenant, user, "phone", "ios", issued_at_s + 3600};
    who.issued_at_s = issued_at_s;
    return who;
  }
  int64_t NowS() const { return clock_.NowMs() / 1000; }

  ManualClock clock_{1'800'000'000'500};  // half-way through a second
  FailingSettingsStore store_;
  SessionRevocations revocations_{store_, clock_};
};

TEST_F(SessionRevocationsTest, NothingIsRefusedBeforeARevocation) {
  auto refused = revocations_.Refuses(Token("alice", NowS() - 100));
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_FALSE(*refused);
}

TEST_F(SessionRevocationsTest, TokensIssuedInEarlierSecondsAreRefusedLaterOnesAreNot) {
  const int64_t before = NowS() - 1;
  auto revoked = revocations_.Revoke("acme", "alice");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(*revoked, NowS());
  EXPECT_TRUE(*revocations_.Refuses(Token("alice", before)));
  EXPECT_TRUE(*revocations_.Refuses(Token("alice", 0)));  // no iat: cannot show it is newer
  EXPECT_FALSE(*revocations_.Refuses(Token("alice", NowS())));
  clock_.Advance(5'000);
  EXPECT_FALSE(*revocations_.Refuses(Token("alice", NowS())));
  EXPECT_TRUE(*revocations_.Refuses(Token("alice", before)));  // and it stays refused
}

TEST_F(SessionRevocationsTest, ARevocationIsTheUsersOfItsTenantOnly) {
  const int64_t before = NowS() - 1;
  ASSERT_TRUE(revocations_.Revoke("acme", "alice").ok());
  EXPECT_FALSE(*revocations_.Refuses(Token("bob", before)));
  EXPECT_FALSE(*revocations_.Refuses(Token("alice", before, "other")));
}

TEST_F(SessionRevocationsTest, ALaterRevocationMovesTheLineAndAnEarlierClockDoesNotMoveItBack) {
  ASSERT_TRUE(revocations_.Revoke("acme", "alice").ok());
  const int64_t between = NowS() + 10;
  clock_.Advance(60'000);
  ASSERT_TRUE(revocations_.Revoke("acme", "alice").ok());
  EXPECT_TRUE(*revocations_.Refuses(Token("alice", between)));
  // Another process whose clock is behind revokes too: the line stays.
  ManualClock behind{clock_.NowMs() - 30'000};
  SessionRevocations other{store_, behind};
  auto kept = other.Revoke("acme", "alice");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, NowS());
  EXPECT_TRUE(*revocations_.Refuses(Token("alice", NowS() - 1)));
}

TEST_F(SessionRevocationsTest, AStoreThatCannotBeReadLetsNobodyIn) {
  store_.failing = true;
  auto refused = revocations_.Refuses(Token("alice", NowS()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  auto revoked = revocations_.Revoke("acme", "alice");
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.status().code(), Code::kUnavailable);
}

TEST_F(SessionRevocationsTest, ADocumentThatIsNotATimeIsAnErrorNotALogin) {
  ASSERT_TRUE(store_.inner.Put("sessions_revoked/acme/alice", 0, "yesterday").ok());
  auto refused = revocations_.Refuses(Token("alice", NowS()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace flare
