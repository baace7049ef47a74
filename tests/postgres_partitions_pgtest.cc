// PostgreSQL store: week partitions, retention, the stored record format,
// migration of version-2 databases and the COPY write path, against a real
// PostgreSQL server started for this test process.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <thread>

#include "adapters/postgres/postgres_store.h"
#include "flare/storage/v1/storage.pb.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;
using ::flare::testing::Query;

constexpr int64_t kDay = 86'400'000;
// The start of a week partition in 2026 (any week start works).
const int64_t kWeek0 = PartitionWeek(1'780'000'000'000) * kPartitionMs;

StoredMessage At(const std::string& conv, int64_t seq, const std::string& cmid, int64_t time_ms) {
  StoredMessage sm;
  sm.tenant = "t1";
  sm.message.set_conversation_id(conv);
  sm.message.set_seq(seq);
  sm.message.set_sender("alice");
  sm.message.set_client_msg_id(cmid);
  sm.message.set_server_msg_id("srv-" + cmid);
  sm.message.set_server_time_ms(time_ms);
  sm.message.mutable_content()->set_text("text of " + cmid);
  return sm;
}

std::shared_ptr<PostgresStore> OpenWith(const std::string& dsn, int retention_days) {
  PostgresOptions options;
  options.dsn = dsn;
  options.retention_days = retention_days;
  options.maintenance_interval_ms = 0;  // the tests call Maintain
  auto store = PostgresStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

std::string PartitionOf(int64_t time_ms) {
  return "messages_w" + std::to_string(PartitionWeek(time_ms));
}

bool TableExists(const std::string& dsn, const std::string& table) {
  return Query(dsn, "SELECT to_regclass('\"" + table + "\"') IS NOT NULL") == "t";
}

Status WriteOne(PostgresStore& store, const StoredMessage& sm) {
  WriteBatch batch;
  batch.messages.push_back(sm);
  return store.Write(batch);
}

TEST(PostgresPartitions, PartitionWeekRoundsDownAlsoBefore1970) {
  EXPECT_EQ(PartitionWeek(0), 0);
  EXPECT_EQ(PartitionWeek(kPartitionMs - 1), 0);
  EXPECT_EQ(PartitionWeek(kPartitionMs), 1);
  EXPECT_EQ(PartitionWeek(-1), -1);
  EXPECT_EQ(PartitionWeek(-kPartitionMs), -1);
  EXPECT_EQ(PartitionWeek(-kPartitionMs - 1), -2);
}

TEST(PostgresPartitions, MaintainCreatesTheCurrentAndNextWeeksAhead) {
  std::string dsn = FreshDatabase("ahead");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  const int64_t now = kWeek0 + 3 * kDay;
  auto first = store->Maintain(now);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->partitions_created, kPartitionsAhead + 1);
  for (int w = 0; w <= kPartitionsAhead; ++w) {
    EXPECT_TRUE(TableExists(dsn, PartitionOf(now + w * kPartitionMs))) << w;
  }
  EXPECT_FALSE(TableExists(dsn, PartitionOf(now + (kPartitionsAhead + 1) * kPartitionMs)));
  auto again = store->Maintain(now);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->partitions_created, 0);
}

TEST(PostgresPartitions, RetentionDropsWholeWeeksOlderThanIt) {
  std::string dsn = FreshDatabase("retention");
  auto store = OpenWith(dsn, 30);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, At("c1", 1, "old", kWeek0 + kDay)).ok());
  ASSERT_TRUE(WriteOne(*store, At("c1", 2, "newer", kWeek0 + 20 * kDay)).ok());
  // 30 days before this is kWeek0 + 10 days: week 0 ended before it, the
  // week of day 20 did not.
  auto report = store->Maintain(kWeek0 + 40 * kDay);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->partitions_dropped, 1);
  EXPECT_EQ(report->keys_deleted, 1);
  EXPECT_FALSE(TableExists(dsn, PartitionOf(kWeek0)));
  EXPECT_FALSE(store->Get("t1", "c1", 1)->has_value());
  ASSERT_TRUE(store->Get("t1", "c1", 2)->has_value());
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM message_keys"), "1");
  EXPECT_FALSE(store->FindByClientMsgId("t1", "alice", "old")->has_value());
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 2);
  // The store recreates a dropped week when a message for it comes again.
  ASSERT_TRUE(WriteOne(*store, At("c1", 3, "late", kWeek0 + 2 * kDay)).ok());
  EXPECT_TRUE(store->Get("t1", "c1", 3)->has_value());
}

// A conversation whose every message expired goes on from its last seq:
// sync cursors and unread counts are above it, a restart at 1 would hide
// every new message.
TEST(PostgresPartitions, AConversationWhollyExpiredKeepsItsLastSeq) {
  std::string dsn = FreshDatabase("expired");
  auto store = OpenWith(dsn, 30);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, At("c1", 1, "first", kWeek0 + kDay)).ok());
  ASSERT_TRUE(WriteOne(*store, At("c1", 2, "second", kWeek0 + 2 * kDay)).ok());
  auto report = store->Maintain(kWeek0 + 400 * kDay);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(store->Get("t1", "c1", 2)->has_value());
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 2);
  auto many = store->MaxSeqs({{"t1", "c1"}});
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->at(0), 2);
  EXPECT_EQ(report->keys_deleted, 1);  // only the older key goes
}

TEST(PostgresPartitions, NoRetentionKeepsEverything) {
  std::string dsn = FreshDatabase("forever");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, At("c1", 1, "old", kWeek0)).ok());
  auto report = store->Maintain(kWeek0 + 3650 * kDay);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->partitions_dropped, 0);
  EXPECT_TRUE(store->Get("t1", "c1", 1)->has_value());
}

// Uniqueness holds across partitions: the keys table is not partitioned.
TEST(PostgresPartitions, DuplicatesInAnotherWeekFailTheWholeBatch) {
  std::string dsn = FreshDatabase("dupweeks");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, At("c1", 1, "k1", kWeek0)).ok());
  WriteBatch same_seq;
  same_seq.memberships = {{"t1", "c1", 1, "bob", 1}};
  same_seq.messages = {At("c1", 2, "k2", kWeek0 + 9 * kDay), At("c1", 1, "k3", kWeek0 + 9 * kDay)};
  EXPECT_EQ(store->Write(same_seq).code(), Code::kAlreadyExists);
  WriteBatch same_key;
  same_key.messages = {At("c1", 2, "k1", kWeek0 + 9 * kDay)};
  EXPECT_EQ(store->Write(same_key).code(), Code::kAlreadyExists);
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 1);
  EXPECT_FALSE(store->Get("t1", "c1", 2)->has_value());
  EXPECT_TRUE(store->Members("t1", "c1")->empty());
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM messages"), "1");
}

TEST(PostgresPartitions, BodiesAreStorageRecords) {
  std::string dsn = FreshDatabase("record");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  StoredMessage sm = At("c1", 1, "k1", kWeek0);
  sm.message.add_mentions()->set_user_id("bob");
  ASSERT_TRUE(WriteOne(*store, sm).ok());
  EXPECT_EQ(Query(dsn, "SELECT format FROM messages"), "1");
  std::string hex = Query(dsn, "SELECT encode(body, 'hex') FROM messages");
  std::string raw;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  ::flare::storage::v1::MessageRecord record;
  ASSERT_TRUE(record.ParseFromString(raw));
  EXPECT_EQ(record.client_msg_id(), "k1");
  EXPECT_EQ(record.content().text(), "text of k1");
  EXPECT_EQ(record.mentions(0).user_id(), "bob");
  EXPECT_TRUE(*store->MentionedAfter("t1", "c1", 0, 1, "bob"));
}

// Builds a database at schema version 2 with rows the way version 2 wrote
// them (client Message bodies), then opens it with this binary.
TEST(PostgresPartitions, MigratesAVersion2DatabaseKeepingItsRows) {
  std::string dsn = FreshDatabase("fromv2");
  ASSERT_FALSE(dsn.empty());
  {
    pg::ConnPtr conn(PQconnectdb(dsn.c_str()));
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
    ASSERT_TRUE(MigratePostgres(conn.get(), "test", 2).ok());
    ASSERT_EQ(Query(dsn, "SELECT max(version) FROM flare_migrations"), "2");
    for (int seq = 1; seq <= 3; ++seq) {
      // Weeks apart, so the migration has to create several partitions.
      Message m = At("c1", seq, "v2-" + std::to_string(seq), kWeek0 + seq * 8 * kDay).message;
      std::string body = m.SerializeAsString();
      std::string seq_text = std::to_string(seq), time = std::to_string(m.server_time_ms());
      const char* values[] = {seq_text.c_str(), m.client_msg_id().c_str(), time.c_str(),
                              body.data()};
      int lengths[] = {0, 0, 0, static_cast<int>(body.size())};
      int formats[] = {0, 0, 0, 1};
      pg::ResultPtr res(PQexecParams(
          conn.get(),
          "INSERT INTO messages VALUES ('t1', 'c1', $1, 'srv', 'alice', $2, $3, true, '', $4)", 4,
          nullptr, values, lengths, formats, 0));
      ASSERT_EQ(PQresultStatus(res.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(res.get());
    }
  }
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  EXPECT_EQ(Query(dsn, "SELECT max(version) FROM flare_migrations"),
            std::to_string(PostgresSchemaVersion()));
  auto page = store->ReadAfter("t1", "c1", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[2].content().text(), "text of v2-3");
  EXPECT_EQ(Query(dsn, "SELECT count(DISTINCT tableoid) FROM messages"), "3");
  auto found = store->FindByClientMsgId("t1", "alice", "v2-2");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->seq(), 2);
  EXPECT_EQ(WriteOne(*store, At("c1", 2, "new", kWeek0)).code(), Code::kAlreadyExists);
  ASSERT_TRUE(WriteOne(*store, At("c1", 4, "new", kWeek0)).ok());
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 4);
  // An old-format row that is updated (e.g. an edit) is stored as a record.
  WriteBatch edit;
  edit.updates.push_back(At("c1", 1, "v2-1", kWeek0 + 8 * kDay));
  edit.updates[0].message.mutable_content()->set_text("edited");
  ASSERT_TRUE(store->Write(edit).ok());
  EXPECT_EQ((*store->Get("t1", "c1", 1))->content().text(), "edited");
  EXPECT_EQ(Query(dsn, "SELECT format FROM messages WHERE seq = 1"), "1");
}

// A writer connection that breaks returns kUnavailable for its batch (the
// commit's outcome is unknown, so it is not retried) and the next batch
// goes through on a fresh connection.
TEST(PostgresPartitions, ABrokenConnectionIsUnavailableThenRecovers) {
  std::string dsn = FreshDatabase("broken");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  ASSERT_TRUE(WriteOne(*store, At("c1", 1, "k1", kWeek0)).ok());
  Query(dsn,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_EQ(WriteOne(*store, At("c1", 2, "k2", kWeek0)).code(), Code::kUnavailable);
  ASSERT_TRUE(WriteOne(*store, At("c1", 2, "k2", kWeek0)).ok());
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 2);
}

// A batch's cursors go to the server as one statement over arrays; several
// moves of one member's cursor in a batch keep the highest of each.
TEST(PostgresPartitions, ManyCursorsOfOneMemberInABatchKeepTheHighest) {
  std::string dsn = FreshDatabase("cursors");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  WriteBatch join;
  join.memberships = {{"t1", "g1", 2, "alice", 1}, {"t1", "g1", 2, "it's \"bob\"", 1}};
  ASSERT_TRUE(store->Write(join).ok());
  WriteBatch moves;
  moves.cursors = {{"t1", "g1", "alice", 5, 1},
                   {"t1", "g1", "alice", 3, 4},
                   {"t1", "g1", "it's \"bob\"", 7, 7},
                   {"t1", "g1", "nobody", 9, 9}};
  ASSERT_TRUE(store->Write(moves).ok());
  auto alice = store->GetMember("t1", "g1", "alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->read_seq, 4);
  auto list = store->ListForUser("t1", "alice");
  ASSERT_TRUE(list.ok() && list->size() == 1u);
  EXPECT_EQ((*list)[0].delivered_seq, 5);
  EXPECT_EQ((*store->GetMember("t1", "g1", "it's \"bob\""))->read_seq, 7);
  EXPECT_FALSE(store->GetMember("t1", "g1", "nobody")->has_value());
}

// Ids travel as COPY data and parameters; text the database encoding
// rejects is the caller's error and writes nothing.
TEST(PostgresPartitions, TextInvalidInTheEncodingIsInvalidArgument) {
  std::string dsn = FreshDatabase("encoding");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  StoredMessage bad = At("c1", 1, "k1", kWeek0);
  bad.message.set_sender("al\xffice");
  EXPECT_EQ(WriteOne(*store, bad).code(), Code::kInvalidArgument);
  WriteBatch member;
  member.memberships = {{"t1", "c1", 1, "b\xc3", 1}};
  EXPECT_EQ(store->Write(member).code(), Code::kInvalidArgument);
  EXPECT_EQ(*store->MaxSeq("t1", "c1"), 0);
  EXPECT_TRUE(WriteOne(*store, At("c1", 1, "k1", kWeek0)).ok());
}

// A reader that holds the messages table makes Maintain give up after its
// lock timeout instead of waiting (and queueing the writer behind it).
TEST(PostgresPartitions, MaintainGivesUpOnALockedTable) {
  std::string dsn = FreshDatabase("locked");
  auto store = OpenWith(dsn, 0);
  ASSERT_TRUE(store);
  pg::ConnPtr holder(PQconnectdb(dsn.c_str()));
  pg::ResultPtr held(PQexec(holder.get(), "BEGIN; LOCK TABLE messages IN ACCESS SHARE MODE"));
  ASSERT_EQ(PQresultStatus(held.get()), PGRES_COMMAND_OK) << PQerrorMessage(holder.get());
  auto start = std::chrono::steady_clock::now();
  auto blocked = store->Maintain(kWeek0 + 500 * kDay);  // weeks that do not exist yet
  EXPECT_FALSE(blocked.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  pg::ResultPtr done(PQexec(holder.get(), "COMMIT"));
  auto after = store->Maintain(kWeek0 + 500 * kDay);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->partitions_created, kPartitionsAhead + 1);
}

TEST(PostgresPartitions, TheBackgroundThreadMaintains) {
  std::string dsn = FreshDatabase("thread");
  PostgresOptions options;
  options.dsn = dsn;
  options.maintenance_interval_ms = 20;
  auto store = PostgresStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string ahead = PartitionOf(now + kPartitionsAhead * kPartitionMs);
  ASSERT_TRUE(TableExists(dsn, ahead));  // created at open
  Query(dsn, "DROP TABLE \"" + ahead + "\"");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!TableExists(dsn, ahead) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(TableExists(dsn, ahead));
}

}  // namespace
}  // namespace flare
