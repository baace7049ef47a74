// The store contract and PostgreSQL-specific behaviour, against a real
// PostgreSQL server started for this test process.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/postgres/postgres_store.h"
#include "ports/store_factory.h"
#include "store_contract.h"
#include "support/postgres_server.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;
using ::flare::testing::Query;

std::shared_ptr<PostgresStore> OpenOrFail(const std::string& dsn) {
  auto store = PostgresStore::Open({dsn});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, StoreContract,
                         ::testing::Values(Backend{"postgres",
                                                   [](const std::string&) {
                                                     auto s = OpenOrFail(FreshDatabase("contract"));
                                                     return StoreUnderTest{s, s};
                                                   }}),
                         [](const auto& info) { return info.param.name; });

TEST(PostgresStore, KeepsDataAcrossReopen) {
  std::string dsn = FreshDatabase("reopen");
  ASSERT_FALSE(dsn.empty());
  {
    auto store = OpenOrFail(dsn);
    ASSERT_TRUE(store);
    WriteBatch batch;
    batch.memberships = {{"t1", "c1", 1, "alice", 1}};
    batch.messages.push_back(Msg("c1", 1, "alice", "k1", "persisted"));
    batch.cursors = {{"t1", "c1", "alice", 1, 1}};
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Sync().ok());
  }
  auto reopened = OpenOrFail(dsn);
  ASSERT_TRUE(reopened);
  auto page = reopened->ReadAfter("t1", "c1", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].content().text(), "persisted");
  auto member = reopened->GetMember("t1", "c1", "alice");
  ASSERT_TRUE(member.ok() && member->has_value());
  EXPECT_EQ((*member)->read_seq, 1);
}

TEST(PostgresStore, MigrationRunTwiceIsANoOp) {
  std::string dsn = FreshDatabase("migrate");
  ASSERT_FALSE(dsn.empty());
  ASSERT_TRUE(OpenOrFail(dsn));
  std::string version = std::to_string(PostgresSchemaVersion());
  EXPECT_EQ(Query(dsn, "SELECT max(version) FROM flare_migrations"), version);
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM flare_migrations"), version);
  auto again = OpenOrFail(dsn);
  ASSERT_TRUE(again);
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM flare_migrations"), version);
  WriteBatch batch;
  batch.messages.push_back(Msg("c1", 1, "alice", "k1"));
  EXPECT_TRUE(again->Write(batch).ok());
}

TEST(PostgresStore, RefusesANewerSchema) {
  std::string dsn = FreshDatabase("newer");
  ASSERT_FALSE(dsn.empty());
  ASSERT_TRUE(OpenOrFail(dsn));
  int newer = PostgresSchemaVersion() + 1;
  Query(dsn, "INSERT INTO flare_migrations(version) VALUES(" + std::to_string(newer) + ")");
  auto store = PostgresStore::Open({dsn});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer than this binary"), std::string::npos)
      << store.status().ToString();
}

TEST(PostgresStore, UnreachableServerIsAClearErrorQuickly) {
  // A port nothing listens on (the shared server's port + 1 is not ours
  // either way: a refused connection or a timeout both must be quick).
  auto start = std::chrono::steady_clock::now();
  auto store = PostgresStore::Open({"host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2"});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("127.0.0.1:1"), std::string::npos)
      << store.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(PostgresStore, FactoryOpensItByName) {
  Config config;
  config.storage_backend = "postgres";
  config.postgres_dsn = FreshDatabase("factory");
  ASSERT_FALSE(config.postgres_dsn.empty());
  auto stores = OpenStores(config);
  ASSERT_TRUE(stores.ok()) << stores.status().ToString();
  WriteBatch batch;
  batch.memberships = {{"t1", "c1", 1, "alice", 1}};
  ASSERT_TRUE(stores->messages->Write(batch).ok());
  EXPECT_EQ(*stores->conversations->Members("t1", "c1"), (std::vector<std::string>{"alice"}));

  config.postgres_dsn = "host=127.0.0.1 port=1 dbname=flare user=flare connect_timeout=2";
  auto unreachable = OpenStores(config);
  ASSERT_FALSE(unreachable.ok());
  EXPECT_NE(unreachable.status().message().find("cannot connect to PostgreSQL at 127.0.0.1:1"),
            std::string::npos)
      << unreachable.status().ToString();
}

TEST(PostgresStore, BatchesManyMessagesInOneTransaction) {
  std::string dsn = FreshDatabase("many");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenOrFail(dsn);
  ASSERT_TRUE(store);
  WriteBatch batch;
  for (int i = 1; i <= 1200; ++i) {
    batch.messages.push_back(Msg("c1", i, "alice", "m" + std::to_string(i), "it's \"quoted\""));
  }
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 1200);
  std::vector<IdempotencyKeyRef> keys = {
      {"t1", "alice", "m7"}, {"t1", "bob", "m7"}, {"t1", "alice", "m1200"}};
  auto found = store->FindByClientMsgIds(keys);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 3u);
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->seq(), 7);
  EXPECT_EQ((*found)[0]->content().text(), "it's \"quoted\"");
  EXPECT_FALSE((*found)[1].has_value());
  EXPECT_EQ((*found)[2]->seq(), 1200);
  // A duplicate late in a big batch writes nothing of it.
  WriteBatch dup;
  for (int i = 1201; i <= 1300; ++i)
    dup.messages.push_back(Msg("c1", i, "alice", "n" + std::to_string(i)));
  dup.messages.push_back(Msg("c1", 5, "alice", "x"));
  EXPECT_EQ(store->Write(dup).code(), Code::kAlreadyExists);
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 1200);
}

// Batches commit without waiting for their WAL flush; Sync flushes the WAL
// past every batch written before it (a power loss itself cannot be
// staged here; the flush position is what it would preserve).
TEST(PostgresStore, SyncFlushesTheWalPastEveryEarlierWrite) {
  std::string dsn = FreshDatabase("sync");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenOrFail(dsn);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.messages.push_back(Msg("c1", 1, "alice", "k1", "flushed"));
  ASSERT_TRUE(store->Write(batch).ok());
  // At least the end of the batch's commit record: it was inserted before
  // Write returned.
  std::string written_up_to = Query(dsn, "SELECT pg_current_wal_insert_lsn()");
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(Query(dsn, "SELECT pg_current_wal_flush_lsn() >= '" + written_up_to + "'::pg_lsn"),
            "t");
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM message_keys WHERE client_msg_id = 'k1'"), "1");
  EXPECT_EQ(Query(dsn, "SELECT sum(syncs) FROM flare_sync"), "1");
  // Nothing written since: no second marker commit.
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(Query(dsn, "SELECT sum(syncs) FROM flare_sync"), "1");
}

// Ends the store's sync connection from outside and waits (with a
// deadline) until the server has let go of it.
bool TerminateSyncConnection(const std::string& dsn) {
  const std::string who =
      "FROM pg_stat_activity WHERE application_name = 'flare-sync' "
      "AND datname = current_database()";
  if (Query(dsn, "SELECT count(*) " + who) != "1") return false;
  Query(dsn, "SELECT pg_terminate_backend(pid) " + who);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Query(dsn, "SELECT count(*) " + who) != "0") {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Writes message `seq` of c1 (key k<seq>) in a batch of its own.
Status WriteOne(PostgresStore& store, int64_t seq) {
  WriteBatch batch;
  batch.messages.push_back(Msg("c1", seq, "alice", "k" + std::to_string(seq)));
  return store.Write(batch);
}

// Sync fails with kUnavailable, and again; a store opened anew on `dsn`
// writes after the highest seq that survived and syncs. Returns that seq.
int64_t ExpectSyncFailsForGoodUntilReopened(PostgresStore& store, const std::string& dsn) {
  Status synced = store.Sync();
  EXPECT_EQ(synced.code(), Code::kUnavailable) << synced.ToString();
  Status again = store.Sync();
  EXPECT_EQ(again.code(), Code::kUnavailable) << again.ToString();
  auto reopened = OpenOrFail(dsn);
  if (!reopened) return -1;
  auto max = reopened->MaxSeq("t1", "c1");
  EXPECT_TRUE(max.ok()) << max.status().ToString();
  if (!max.ok()) return -1;
  EXPECT_TRUE(WriteOne(*reopened, *max + 1).ok());
  EXPECT_TRUE(reopened->Sync().ok());
  return *max;
}

// A lost sync connection fails Sync, and every Sync after it: batches
// committed before may have gone with the server (even one that kept
// running: a crashed backend makes it reinitialise), and a flush on a new
// connection could not tell. A reopened store starts afresh.
TEST(PostgresStore, LostSyncConnectionFailsSyncForGood) {
  std::string dsn = FreshDatabase("syncfail");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenOrFail(dsn);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, 1).ok());
  ASSERT_TRUE(store->Sync().ok());
  ASSERT_TRUE(TerminateSyncConnection(dsn));
  // Nothing to make durable yet: the connection is not needed.
  EXPECT_TRUE(store->Sync().ok());

  ASSERT_TRUE(WriteOne(*store, 2).ok());
  EXPECT_EQ(ExpectSyncFailsForGoodUntilReopened(*store, dsn), 2);
}

// A server that restarted (here as a crash would) may have lost batches
// committed before it that were not flushed yet, and no flush on the new
// server can vouch for them: Sync fails, and every Sync after it. A
// reopened store starts afresh from what the server has.
TEST(PostgresStore, SyncAfterTheServerRestartedFailsForGood) {
  std::string dsn = FreshDatabase("syncrestart");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenOrFail(dsn);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, 1).ok());
  ASSERT_TRUE(store->Sync().ok());
  std::string error;
  auto* server = ::flare::testing::SharedPostgres(&error);
  ASSERT_NE(server, nullptr) << error;

  ASSERT_TRUE(WriteOne(*store, 2).ok());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_GE(ExpectSyncFailsForGoodUntilReopened(*store, dsn), 1);  // 2 if it was flushed
}

// A writer whose claims fail while the server is down owns no partition,
// so no batch resets its connection: the next claim must.
TEST(PostgresStore, ClaimingAPartitionAfterTheServerRestartedReconnects) {
  std::string dsn = FreshDatabase("claimrestart");
  ASSERT_FALSE(dsn.empty());
  auto store = OpenOrFail(dsn);
  ASSERT_TRUE(store);
  auto first = store->ClaimPartition(3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string error;
  auto* server = ::flare::testing::SharedPostgres(&error);
  ASSERT_NE(server, nullptr) << error;

  ASSERT_TRUE(server->Restart().ok());
  auto second = store->ClaimPartition(3);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GT(*second, *first);
}

}  // namespace
}  // namespace flare
