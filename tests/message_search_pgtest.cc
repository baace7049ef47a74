// The message search contract against a real PostgreSQL server, and the
// search columns filled for rows stored before schema migration 8.
#include <libpq-fe.h>

#include "adapters/postgres/postgres_store.h"
#include "adapters/storage_record.h"
#include "message_search_contract.h"
#include "support/postgres_server.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;

std::shared_ptr<PostgresStore> OpenSearchStore(const std::string& dsn) {
  auto store = PostgresStore::Open({dsn});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, MessageSearchContract,
                         ::testing::Values(SearchBackend{"postgres",
                                                         [](const std::string&) {
                                                           auto s = OpenSearchStore(
                                                               FreshDatabase("search"));
                                                           return SearchUnderTest{s, s};
                                                         }}),
                         [](const auto& info) { return info.param.name; });

class PostgresSearchUpgrade : public ::testing::Test, protected SearchTestHelpers {
 protected:
  void SetUp() override { MakeDir("postgres_upgrade"); }
  void TearDown() override { RemoveDir(); }
};

// Rows as schema version 7 stored them (no search columns), written
// behind the store's back, then the database opened by this binary.
void InsertVersion7Row(PGconn* conn, const Message& m) {
  std::string body = storage_record::ToRecord(m).SerializeAsString();
  std::string seq = std::to_string(m.seq()), time = std::to_string(m.server_time_ms());
  std::string week = std::to_string(PartitionWeek(m.server_time_ms()));
  const char* week_values[] = {week.c_str()};
  pg::ResultPtr made(PQexecParams(conn, "SELECT flare_message_partition($1)", 1, nullptr,
                                  week_values, nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(made.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(made.get());
  const char* values[] = {m.conversation_id().c_str(), seq.c_str(),  m.sender().c_str(),
                          m.client_msg_id().c_str(),   time.c_str(), body.data()};
  int lengths[] = {0, 0, 0, 0, 0, static_cast<int>(body.size())};
  int formats[] = {0, 0, 0, 0, 0, 1};
  pg::ResultPtr res(PQexecParams(conn,
                                 "INSERT INTO messages VALUES ('t1', $1, $2, 'srv', $3, $4, $5, "
                                 "true, '', 1, $6)",
                                 6, nullptr, values, lengths, formats, 0));
  ASSERT_EQ(PQresultStatus(res.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(res.get());
}

TEST_F(PostgresSearchUpgrade, FillsTheSearchColumnsOfOlderRowsAtOpen) {
  std::string dsn = FreshDatabase("search_v7");
  ASSERT_FALSE(dsn.empty());
  {
    pg::ConnPtr conn(PQconnectdb(dsn.c_str()));
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
    ASSERT_TRUE(MigratePostgres(conn.get(), "test", 7).ok());
    pg::ResultPtr members(
        PQexec(conn.get(),
               "INSERT INTO members(tenant, user_id, conversation_id, "
               "conversation_type, joined_ms) VALUES ('t1', 'alice', 'c1', 2, 1), "
               "('t1', 'bob', 'c1', 2, 1)"));
    ASSERT_EQ(PQresultStatus(members.get()), PGRES_COMMAND_OK);
    InsertVersion7Row(conn.get(), Text("c1", 1, "bob", "stored before search").message);
    InsertVersion7Row(conn.get(), Text("c1", 2, "bob", "also stored before").message);
    pb::Event hide;
    hide.set_target_seq(2);
    hide.mutable_delete_for_me();
    InsertVersion7Row(conn.get(), Event("c1", 3, "alice", hide).message);
  }
  auto store = OpenSearchStore(dsn);
  ASSERT_TRUE(store);
  under_ = {store, store};
  EXPECT_EQ(::flare::testing::Query(dsn, "SELECT max(version) FROM flare_migrations"),
            std::to_string(PostgresSchemaVersion()));
  EXPECT_EQ(Hits(Query("bob", "stored")), (V{"c1/2", "c1/1"}));
  EXPECT_EQ(Hits(Query("alice", "stored")), (V{"c1/1"}));
  EXPECT_EQ(::flare::testing::Query(dsn, "SELECT count(*) FROM messages WHERE search_text IS NULL"),
            "0");
  auto again = store->Maintain(1'700'000'000'000);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->search_backfilled, 0) << "filled rows are not read again";
}

// The text condition of PostgresStore::Search, as the planner sees it when
// sequential scans are off: it must be able to use migration 8's index on
// every partition, or each search would read every message.
TEST(PostgresSearchIndex, TheSearchConditionCanUseTheTextIndex) {
  std::string dsn = FreshDatabase("search_plan");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenSearchStore(dsn);
  ASSERT_TRUE(store);
  pg::ConnPtr conn(PQconnectdb(dsn.c_str()));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  pg::ResultPtr off(PQexec(conn.get(), "SET enable_seqscan = off"));
  pg::ResultPtr plan(PQexec(conn.get(),
                            "EXPLAIN SELECT m.body FROM messages m WHERE "
                            "m.search_text <> '' AND to_tsvector('simple'::regconfig, "
                            "m.search_text) @@ to_tsquery('simple'::regconfig, 'word:*')"));
  ASSERT_EQ(PQresultStatus(plan.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(plan.get());
  std::string text;
  for (int i = 0; i < PQntuples(plan.get()); ++i) {
    text += std::string(PQgetvalue(plan.get(), i, 0)) + "\n";
  }
  EXPECT_NE(text.find("Bitmap Index Scan"), std::string::npos) << text;
  EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << text;
}

}  // namespace
}  // namespace flare
