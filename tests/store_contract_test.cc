// The store contract instantiated for the in-process backends (memory,
// SQLite); store_contract_pgtest.cc does PostgreSQL.
#include "store_contract.h"

#include "adapters/memory/memory_store.h"
#include "adapters/sqlite/sqlite_store.h"

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(Adapters, StoreContract,
                         ::testing::Values(Backend{"memory",
                                                   [](const std::string&) {
                                                     auto s = std::make_shared<MemoryStore>();
                                                     return StoreUnderTest{s, s};
                                                   }},
                                           Backend{"sqlite",
                                                   [](const std::string& dir) {
                                                     auto s = SqliteStore::Open(dir + "/flare.db");
                                                     EXPECT_TRUE(s.ok()) << s.status().ToString();
                                                     return StoreUnderTest{*s, *s};
                                                   }}),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteStore, KeepsDataAcrossReopen) {
  std::string dir = ::testing::TempDir() + "/flare_sqlite_reopen";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto store = SqliteStore::Open(dir + "/flare.db");
    ASSERT_TRUE(store.ok());
    WriteBatch batch;
    batch.messages.push_back(Msg("c1", 1, "alice", "k1", "persisted"));
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  auto reopened = SqliteStore::Open(dir + "/flare.db");
  ASSERT_TRUE(reopened.ok());
  auto page = (*reopened)->ReadAfter("t1", "c1", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].content().text(), "persisted");
  std::filesystem::remove_all(dir);
}

TEST(SqliteStore, UnwritablePathIsAClearError) {
  auto store = SqliteStore::Open("/proc/flare-cannot-write-here/flare.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace flare
