// sqlite::Db::InTransaction, the one transaction helper of the SQLite
// adapters (message, media, settings and device stores).
#include <gtest/gtest.h>

#include "adapters/sqlite/sqlite_db.h"

namespace flare::sqlite {
namespace {

class SqliteDbTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(":memory:", /*readonly=*/false);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("PRAGMA foreign_keys = ON").ok());
    // A deferred foreign key is checked at COMMIT, which then fails and,
    // unlike a failed statement, leaves the transaction open.
    ASSERT_TRUE(db_->Exec("CREATE TABLE parents(id INTEGER PRIMARY KEY)").ok());
    ASSERT_TRUE(db_->Exec("CREATE TABLE children(id INTEGER PRIMARY KEY, parent INTEGER "
                          "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)")
                    .ok());
  }

  int64_t Count(const char* sql) {
    auto stmt = db_->Prepare(sql);
    if (!stmt.ok()) {
      ADD_FAILURE() << stmt.status().ToString();
      return -1;
    }
    auto row = (*stmt)->Step();
    EXPECT_TRUE(row.ok() && *row);
    return (*stmt)->Int(0);
  }

  std::unique_ptr<Db> db_;
};

constexpr const char* kCountChildren = "SELECT count(*) FROM children";
constexpr const char* kCountParents = "SELECT count(*) FROM parents";

TEST_F(SqliteDbTransactions, AFailedBodyIsRolledBack) {
  Status st = db_->InTransaction([&]() -> Status {
    EXPECT_TRUE(db_->Exec("INSERT INTO parents(id) VALUES (1)").ok());
    return Internal("the body failed");
  });
  EXPECT_EQ(st.ToString(), Internal("the body failed").ToString());
  EXPECT_EQ(Count(kCountParents), 0);
}

TEST_F(SqliteDbTransactions, AFailedCommitIsRolledBackAndTheNextTransactionRuns) {
  Status st = db_->InTransaction([&] {
    return db_->Exec("INSERT INTO children(id, parent) VALUES (1, 42)");  // no parent 42
  });
  ASSERT_FALSE(st.ok()) << "the deferred foreign key should fail the COMMIT";
  EXPECT_EQ(Count(kCountChildren), 0);

  // Left open, the failed transaction would make this BEGIN fail
  // ("cannot start a transaction within a transaction").
  st = db_->InTransaction([&] { return db_->Exec("INSERT INTO parents(id) VALUES (7)"); });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Count(kCountParents), 1);
}

}  // namespace
}  // namespace flare::sqlite
