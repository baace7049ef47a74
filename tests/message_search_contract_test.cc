// The message search contract for the in-process backends (memory, SQLite),
// and the SQLite index built for a database written before search existed.
#include <sqlite3.h>

#include "adapters/memory/memory_store.h"
#include "adapters/sqlite/sqlite_store.h"
#include "message_search_contract.h"

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(Adapters, MessageSearchContract,
                         ::testing::Values(SearchBackend{"memory",
                                                         [](const std::string&) {
                                                           auto s = std::make_shared<MemoryStore>();
                                                           return SearchUnderTest{s, s};
                                                         }},
                                           SearchBackend{"sqlite",
                                                         [](const std::string& dir) {
                                                           auto s =
                                                               SqliteStore::Open(dir + "/flare.db");
                                                           EXPECT_TRUE(s.ok())
                                                               << s.status().ToString();
                                                           if (!s.ok()) return SearchUnderTest{};
                                                           return SearchUnderTest{*s, *s};
                                                         }}),
                         [](const auto& info) { return info.param.name; });

// The messages and members tables as the store created them before search.
constexpr const char* kSchemaBeforeSearch = R"sql(
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  server_msg_id TEXT NOT NULL, sender TEXT NOT NULL, client_msg_id TEXT NOT NULL,
  server_time_ms INTEGER NOT NULL, countable INTEGER NOT NULL, mentions TEXT NOT NULL,
  body BLOB NOT NULL);
CREATE UNIQUE INDEX messages_by_seq ON messages(tenant, conversation_id, seq);
CREATE UNIQUE INDEX messages_idempotency ON messages(tenant, sender, client_msg_id);
CREATE TABLE members(
  tenant TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  conversation_type INTEGER NOT NULL, joined_ms INTEGER NOT NULL,
  role INTEGER NOT NULL DEFAULT 0, muted_until_ms INTEGER NOT NULL DEFAULT 0,
  joined_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0, delivered_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(tenant, user_id, conversation_id)) WITHOUT ROWID;
INSERT INTO members(tenant, user_id, conversation_id, conversation_type, joined_ms)
  VALUES ('t1', 'alice', 'c1', 2, 1), ('t1', 'bob', 'c1', 2, 1);
)sql";

void InsertOldRow(sqlite3* db, const Message& m) {
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO messages(tenant, conversation_id, seq, server_msg_id, "
                               "sender, client_msg_id, server_time_ms, countable, mentions, body) "
                               "VALUES('t1', ?1, ?2, ?3, ?4, ?5, ?6, 1, '', ?7)",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  std::string body = m.SerializeAsString();
  sqlite3_bind_text(stmt, 1, m.conversation_id().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, m.seq());
  sqlite3_bind_text(stmt, 3, m.server_msg_id().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 4, m.sender().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 5, m.client_msg_id().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 6, m.server_time_ms());
  sqlite3_bind_blob(stmt, 7, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
}

// Runs `sql` on its own connection to the database at `path`.
void ExecOn(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// FTS5 checks its index: the terms and the row count match its content.
void ExpectIndexIntact(const std::string& path) {
  ExecOn(path, "INSERT INTO message_fts(message_fts) VALUES('integrity-check')");
}

class SqliteSearchUpgrade : public ::testing::Test, protected SearchTestHelpers {
 protected:
  void SetUp() override { MakeDir("sqlite_upgrade"); }
  void TearDown() override { RemoveDir(); }
};

TEST_F(SqliteSearchUpgrade, BuildsTheIndexOfAnExistingDatabaseAtOpen) {
  std::string path = dir_ + "/old.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kSchemaBeforeSearch, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    InsertOldRow(db, Text("c1", 1, "bob", "stored before search").message);
    InsertOldRow(db, Text("c1", 2, "bob", "also stored before").message);
    pb::Event hide;
    hide.set_target_seq(2);
    hide.mutable_delete_for_me();
    InsertOldRow(db, Event("c1", 3, "alice", hide).message);
    sqlite3_close(db);
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds the index there
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    under_ = {*store, *store};
    EXPECT_EQ(Hits(Query("bob", "stored")), (V{"c1/2", "c1/1"}));
    EXPECT_EQ(Hits(Query("alice", "stored")), (V{"c1/1"}));
    WriteBatch more;
    more.messages = {Text("c1", 4 + open, "bob", "written after the upgrade")};
    Write(more);
    EXPECT_EQ(Hits(Query("bob", "written")).size(), static_cast<size_t>(open + 1));
    under_ = {};
  }
}

// New messages join the index in bulk: here every second message written
// (search_index_batch 2), the rest before a search.
TEST_F(SqliteSearchUpgrade, IndexesInBulkAndKeepsIndexedAndPendingMessagesCurrent) {
  std::string path = dir_ + "/bulk.db";
  SqliteOptions options;
  options.search_index_batch = 2;
  {
    auto store = SqliteStore::Open(path, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    under_ = {*store, *store};
    WriteBatch first;
    first.memberships = {Member("c1", "alice")};
    first.messages = {Text("c1", 1, "alice", "omega one"), Text("c1", 2, "alice", "omega two"),
                      Text("c1", 3, "alice", "")};  // no text: indexed all the same
    Write(first);  // reaches the count: indexed in this write
    WriteBatch second;
    second.messages = {Text("c1", 4, "alice", "omega four")};
    Write(second);  // pending
    WriteBatch edits;  // indexed messages, with and without text, and a pending one
    edits.updates = {Text("c1", 2, "alice", "sigma two"), Text("c1", 3, "alice", ""),
                     Text("c1", 4, "alice", "sigma four")};
    Write(edits);
    EXPECT_EQ(Hits(Query("alice", "omega")), (V{"c1/1"}));
    EXPECT_EQ(Hits(Query("alice", "sigma")), (V{"c1/4", "c1/2"}));
    WriteBatch third;
    third.messages = {Text("c1", 5, "alice", "omega five")};
    Write(third);  // pending when the store closes
    under_ = {};
  }
  ExpectIndexIntact(path);
  auto store = SqliteStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  under_ = {*store, *store};
  EXPECT_EQ(Hits(Query("alice", "omega")), (V{"c1/5", "c1/1"}));
  // An operator deletes the newest message: its id is handed out again,
  // below what the index has taken, and the new message is still found.
  ExecOn(path, "DELETE FROM messages WHERE seq = 5");
  WriteBatch again;
  again.messages = {Text("c1", 6, "alice", "omega six")};
  Write(again);
  EXPECT_EQ(Hits(Query("alice", "omega")), (V{"c1/6", "c1/1"}));
  under_ = {};
  ExpectIndexIntact(path);
}

// FTS5 counts every row it indexed and refuses to delete more than it
// has: a message without text must be in the index before an edit or a
// recall "deletes" it there.
TEST_F(SqliteSearchUpgrade, AMessageWithoutTextIsRecalledAfterItWasIndexed) {
  auto store = SqliteStore::Open(dir_ + "/textless.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  under_ = {*store, *store};
  WriteBatch first;
  first.memberships = {Member("c1", "alice")};
  first.messages = {Text("c1", 1, "alice", "")};  // an image, say
  Write(first);
  EXPECT_EQ(Hits(Query("alice", "anything")), V{});  // indexes it
  WriteBatch recall;
  recall.updates = {Text("c1", 1, "alice", "")};
  Write(recall);
  WriteBatch more;
  more.messages = {Text("c1", 2, "alice", "tau two")};
  Write(more);
  EXPECT_EQ(Hits(Query("alice", "tau")), (V{"c1/2"}));
}

// A database whose index an insert trigger kept, message by message, moves
// to bulk indexing at open without indexing anything twice or losing it.
TEST_F(SqliteSearchUpgrade, MovesAPerMessageIndexToBulkIndexingAtOpen) {
  std::string path = dir_ + "/per_message.db";
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    under_ = {*store, *store};
    WriteBatch first;
    first.memberships = {Member("c1", "bob")};
    first.messages = {Text("c1", 1, "bob", "kappa one")};
    Write(first);
    ASSERT_EQ(Hits(Query("bob", "kappa")), (V{"c1/1"}));  // now in the index
    under_ = {};
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    constexpr const char* kPerMessageLayout = R"sql(
DROP TRIGGER messages_fts_update; DROP TRIGGER messages_fts_delete; DROP TABLE search_progress;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN
  INSERT INTO message_fts(message_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
  INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO message_fts(message_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
)sql";
    ASSERT_EQ(sqlite3_exec(db, kPerMessageLayout, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  under_ = {*store, *store};
  WriteBatch edit;  // the row is indexed: the edit must replace its old text
  edit.updates = {Text("c1", 1, "bob", "lambda edited")};
  Write(edit);
  WriteBatch more;
  more.messages = {Text("c1", 2, "bob", "kappa written after")};
  Write(more);
  EXPECT_EQ(Hits(Query("bob", "kappa")), (V{"c1/2"}))
      << "indexed twice, or the edit left the old text in the index";
  EXPECT_EQ(Hits(Query("bob", "lambda")), (V{"c1/1"}));
  under_ = {};
  ExpectIndexIntact(path);
}

}  // namespace
}  // namespace flare
