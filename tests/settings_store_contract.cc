// What every SettingsStore does: version 0 for a key never saved, versions
// counting up from 1, compare-and-set that refuses a stale version without
// changing anything, keys apart, any bytes kept, and (for a store other
// processes share) a save seen through another handle.
#include <thread>
#include <vector>

#include "settings_store_contract.h"

namespace flare {
namespace {

TEST_P(SettingsStoreContract, AKeyNeverSavedIsVersionZeroAndEmpty) {
  auto got = store_->Get("hooks");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, 0);
  EXPECT_EQ(got->value, "");
}

TEST_P(SettingsStoreContract, SavesCountVersionsUpFromOne) {
  auto first = store_->Put("hooks", 0, "one");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 1);
  auto second = store_->Put("hooks", 1, "two");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, 2);
  auto got = store_->Get("hooks");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->value, "two");
}

TEST_P(SettingsStoreContract, AStaleVersionIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store_->Put("hooks", 0, "one").ok());
  // Someone else saved version 1 first: a first save again is stale.
  EXPECT_EQ(store_->Put("hooks", 0, "lost").status().code(), Code::kAborted);
  ASSERT_TRUE(store_->Put("hooks", 1, "two").ok());
  EXPECT_EQ(store_->Put("hooks", 1, "lost").status().code(), Code::kAborted);
  EXPECT_EQ(store_->Put("hooks", 7, "lost").status().code(), Code::kAborted);
  EXPECT_EQ(store_->Put("other", 3, "lost").status().code(), Code::kAborted);
  auto got = store_->Get("hooks");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->value, "two");
  auto other = store_->Get("other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->version, 0);
}

TEST_P(SettingsStoreContract, KeysAreApartAndAnyBytesAreKept) {
  const std::string binary("a\0b\xff\n'\"\\x", 10);
  ASSERT_TRUE(store_->Put("a", 0, binary).ok());
  ASSERT_TRUE(store_->Put("b", 0, "").ok());
  auto a = store_->Get("a");
  auto b = store_->Get("b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->value, binary);
  EXPECT_EQ(a->version, 1);
  EXPECT_EQ(b->value, "");
  EXPECT_EQ(b->version, 1);
}

TEST_P(SettingsStoreContract, OfConcurrentSavesOfOneVersionExactlyOneWins) {
  ASSERT_TRUE(store_->Put("hooks", 0, "base").ok());
  std::vector<std::shared_ptr<SettingsStore>> handles;
  for (int i = 0; i < 4; ++i) handles.push_back(reopen_ ? reopen_() : store_);
  std::vector<Code> codes(handles.size());
  std::vector<std::thread> writers;
  for (size_t i = 0; i < handles.size(); ++i) {
    writers.emplace_back([&, i] {
      codes[i] = handles[i]->Put("hooks", 1, "writer " + std::to_string(i)).status().code();
    });
  }
  for (auto& w : writers) w.join();
  int won = 0;
  for (Code code : codes) {
    if (code == Code::kOk)
      ++won;
    else
      EXPECT_EQ(code, Code::kAborted);
  }
  EXPECT_EQ(won, 1);
  auto got = store_->Get("hooks");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->value.rfind("writer ", 0), 0u) << got->value;
}

TEST_P(SettingsStoreContract, ASaveIsSeenThroughAnotherHandle) {
  if (!reopen_) GTEST_SKIP() << "a store of one process only";
  auto other = reopen_();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(store_->Put("hooks", 0, "from the first").ok());
  auto got = other->Get("hooks");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->value, "from the first");
  ASSERT_TRUE(other->Put("hooks", 1, "from the second").ok());
  auto back = store_->Get("hooks");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, 2);
  EXPECT_EQ(back->value, "from the second");
}

}  // namespace
}  // namespace flare
