// The PostgreSQL store's schema, as versioned migrations applied at open
// (and by `flare migrate`), and its upkeep: week partitions created ahead,
// expired ones dropped (Maintain).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "adapters/postgres/postgres_store.h"

namespace flare {
namespace {

// Append only: a released migration never changes.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> migrations = {
      // 1: messages, members, conversations (the SQLite store's tables).
      // body is the serialized client Message (format 0 since version 3).
      R"sql(
CREATE TABLE messages(
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, seq BIGINT NOT NULL,
  server_msg_id TEXT NOT NULL, sender TEXT NOT NULL, client_msg_id TEXT NOT NULL,
  server_time_ms BIGINT NOT NULL, countable BOOLEAN NOT NULL, mentions TEXT NOT NULL,
  body BYTEA NOT NULL,
  PRIMARY KEY(tenant, conversation_id, seq));
CREATE UNIQUE INDEX messages_idempotency ON messages(tenant, sender, client_msg_id);
CREATE TABLE members(
  tenant TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  conversation_type INTEGER NOT NULL, joined_ms BIGINT NOT NULL,
  role INTEGER NOT NULL DEFAULT 0, muted_until_ms BIGINT NOT NULL DEFAULT 0,
  joined_seq BIGINT NOT NULL DEFAULT 0,
  read_seq BIGINT NOT NULL DEFAULT 0, delivered_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY(tenant, user_id, conversation_id));
CREATE INDEX members_by_conversation ON members(tenant, conversation_id);
CREATE TABLE conversations(
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, info BYTEA NOT NULL,
  PRIMARY KEY(tenant, conversation_id));
)sql",
      // 2: writer fencing. A batch calls flare_check_claim for each partition
      // it carries; the row lock it takes makes a concurrent claim wait for
      // the batch (or the batch wait for the claim, and then fail).
      R"sql(
CREATE TABLE partition_claims(partition INTEGER PRIMARY KEY, epoch BIGINT NOT NULL);
CREATE FUNCTION flare_check_claim(p INTEGER, e BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM partition_claims WHERE partition = p AND epoch = e FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partition % is owned by a newer writer', p USING ERRCODE = 'FL001';
  END IF;
END $$;
)sql",
      // 3: messages range-partitioned by week of server_time_ms, bodies as
      // flare.storage.v1 records. PostgreSQL enforces a UNIQUE constraint on
      // a partitioned table only when it contains the partition key, so
      // neither (tenant, conversation_id, seq) nor the idempotency key
      // (tenant, sender, client_msg_id) could stay unique on `messages`.
      // Both live on message_keys, a narrow unpartitioned table every batch
      // inserts into in the same transaction as the messages: a duplicate
      // fails the batch (23505) and nothing of it is written. Lookups by
      // idempotency key go through message_keys too (messages has no index
      // of its own for them). Retention
      // deletes a dropped week's keys after its partition. Rows of version
      // 2 are moved over with format 0 (a client Message body).
      R"sql(
ALTER TABLE messages RENAME TO messages_v2;
-- Key columns compare bytewise (COLLATE "C"): ids need equality and a
-- stable order, not a language's, and every index insert is cheaper.
CREATE TABLE message_keys(
  tenant TEXT COLLATE "C" NOT NULL, conversation_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL, sender TEXT COLLATE "C" NOT NULL,
  client_msg_id TEXT COLLATE "C" NOT NULL, server_time_ms BIGINT NOT NULL,
  CONSTRAINT message_keys_seq UNIQUE (tenant, conversation_id, seq));
CREATE UNIQUE INDEX message_keys_idempotency ON message_keys(tenant, sender, client_msg_id);
-- BRIN: keys arrive in time order, so a block range index finds the
-- expired ones at almost no cost per insert.
CREATE INDEX message_keys_by_time ON message_keys USING brin(server_time_ms);
CREATE TABLE messages_p(
  tenant TEXT COLLATE "C" NOT NULL, conversation_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  server_msg_id TEXT NOT NULL, sender TEXT NOT NULL, client_msg_id TEXT NOT NULL,
  server_time_ms BIGINT NOT NULL, countable BOOLEAN NOT NULL, mentions TEXT NOT NULL,
  format SMALLINT NOT NULL, body BYTEA NOT NULL,
  CONSTRAINT messages_p_key PRIMARY KEY (tenant, conversation_id, seq, server_time_ms))
  PARTITION BY RANGE (server_time_ms);
-- Creates the partition holding week `w` (server_time_ms / 604800000,
-- rounded down) unless it exists; serialised so two sessions cannot race.
CREATE FUNCTION flare_message_partition(w BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7242314);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF messages FOR VALUES FROM (%s) TO (%s)',
                 'messages_w' || w, w * 604800000, (w + 1) * 604800000);
END $$;
ALTER TABLE messages_p RENAME TO messages;
SELECT flare_message_partition(w) FROM
  (SELECT DISTINCT floor(server_time_ms / 604800000.0)::bigint AS w FROM messages_v2) weeks;
INSERT INTO message_keys
  SELECT tenant, conversation_id, seq, sender, client_msg_id, server_time_ms FROM messages_v2;
INSERT INTO messages
  SELECT tenant, conversation_id, seq, server_msg_id, sender, client_msg_id, server_time_ms,
         countable, mentions, 0, body FROM messages_v2;
DROP TABLE messages_v2;
)sql",
      // 4: the durability marker. Batches commit with synchronous_commit =
      // off; Sync() commits a write to this table with it on, whose WAL
      // flush covers every earlier commit (see postgres_store_write.cc).
      // One row per sync connection (by backend pid, unique among live
      // connections), so writers of other partitions never wait on each
      // other's row lock; at most one row per pid value ever exists.
      R"sql(
CREATE TABLE flare_sync(backend_pid INTEGER PRIMARY KEY, syncs BIGINT NOT NULL);
)sql",
      // 5: push devices and notification preferences (ports/device_store.h).
      // A token belongs to one device: push_devices_by_token finds the
      // holders a registration or a provider's rejection touches.
      R"sql(
CREATE TABLE push_devices(
  tenant TEXT COLLATE "C" NOT NULL, user_id TEXT COLLATE "C" NOT NULL,
  device_id TEXT COLLATE "C" NOT NULL, platform TEXT NOT NULL, token TEXT NOT NULL,
  locale TEXT NOT NULL, disabled BOOLEAN NOT NULL, disabled_reason TEXT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, user_id, device_id));
CREATE INDEX push_devices_by_token ON push_devices(tenant, platform, token);
CREATE TABLE push_mutes(
  tenant TEXT COLLATE "C" NOT NULL, user_id TEXT COLLATE "C" NOT NULL,
  conversation_id TEXT COLLATE "C" NOT NULL, until_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, user_id, conversation_id));
CREATE TABLE push_dnd(
  tenant TEXT COLLATE "C" NOT NULL, user_id TEXT COLLATE "C" NOT NULL,
  start_minute INTEGER NOT NULL, end_minute INTEGER NOT NULL,
  utc_offset_minutes INTEGER NOT NULL,
  PRIMARY KEY (tenant, user_id));
)sql",
      // 6: push-proxy's templates and scheduled pushes
      // (ports/push_schedule_store.h); the scheduler reads due pushes by
      // time.
      R"sql(
CREATE TABLE push_templates(
  tenant TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL, title TEXT NOT NULL,
  body TEXT NOT NULL, updated_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, name));
CREATE TABLE scheduled_pushes(
  push_id TEXT COLLATE "C" PRIMARY KEY, tenant TEXT COLLATE "C" NOT NULL,
  send_at_ms BIGINT NOT NULL, request BYTEA NOT NULL, created_ms BIGINT NOT NULL);
CREATE INDEX scheduled_pushes_due ON scheduled_pushes(send_at_ms, push_id);
)sql",
      // 7: versioned settings documents shared by a deployment's processes
      // (ports/settings_store.h: the hook list of the admin API).
      R"sql(
CREATE TABLE flare_settings(
  key TEXT COLLATE "C" PRIMARY KEY, version BIGINT NOT NULL, value BYTEA NOT NULL);
)sql",
      // 8: message search (ports/message_search.h). search_text is the text
      // a message is found by ('' for none: events, recalled messages);
      // NULL on rows stored before this migration, which the store fills
      // from their bodies (PostgresStore::BackfillSearch, at open and with
      // every Maintain), found through messages_unsearched. hides_seq: the
      // seq a delete-for-me event hides from its sender. Indexes on the
      // partitioned table are created on every partition, present and future.
      R"sql(
ALTER TABLE messages ADD COLUMN search_text TEXT, ADD COLUMN hides_seq BIGINT;
CREATE INDEX messages_search ON messages
  USING gin (to_tsvector('simple'::regconfig, search_text)) WHERE search_text <> '';
CREATE INDEX messages_hides ON messages(tenant, conversation_id, hides_seq)
  WHERE hides_seq IS NOT NULL;
CREATE INDEX messages_unsearched ON messages(server_time_ms) WHERE search_text IS NULL;
)sql",
      // 9: the media service's metadata (ports/media_store.h): one row per
      // stored media (one per tenant and content hash: deduplication), the
      // messages referring to each, and multipart uploads in progress.
      R"sql(
CREATE TABLE media(
  tenant TEXT COLLATE "C" NOT NULL, media_id TEXT COLLATE "C" NOT NULL, owner TEXT NOT NULL,
  sha256 TEXT COLLATE "C" NOT NULL, mime_type TEXT NOT NULL, size BIGINT NOT NULL,
  width INTEGER NOT NULL, height INTEGER NOT NULL, object_key TEXT NOT NULL,
  thumbnail_key TEXT NOT NULL, thumbnail_mime TEXT NOT NULL, thumbnail_size BIGINT NOT NULL,
  created_ms BIGINT NOT NULL, refs BIGINT NOT NULL, unreferenced_since_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, media_id));
CREATE UNIQUE INDEX media_by_hash ON media(tenant, sha256);
CREATE INDEX media_orphans ON media(unreferenced_since_ms) WHERE refs = 0;
CREATE TABLE media_refs(
  tenant TEXT COLLATE "C" NOT NULL, conversation_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL, media_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, conversation_id, seq, media_id));
CREATE TABLE media_uploads(
  tenant TEXT COLLATE "C" NOT NULL, upload_id TEXT COLLATE "C" NOT NULL, owner TEXT NOT NULL,
  media_id TEXT NOT NULL, object_key TEXT NOT NULL, store_upload_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, upload_id));
CREATE INDEX media_uploads_by_time ON media_uploads(created_ms);
CREATE TABLE media_upload_parts(
  tenant TEXT COLLATE "C" NOT NULL, upload_id TEXT COLLATE "C" NOT NULL,
  part_number INTEGER NOT NULL, size BIGINT NOT NULL,
  PRIMARY KEY (tenant, upload_id, part_number));
)sql",
  };
  return migrations;
}

}  // namespace

int PostgresSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status MigratePostgres(PGconn* conn, const std::string& server, int up_to) {
  auto begin =
      pg::Exec(conn, server,
               "BEGIN; "
               "SELECT pg_advisory_xact_lock(7242313); "  // one migrator at a time
               "CREATE TABLE IF NOT EXISTS flare_migrations("
               "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  if (!begin.ok()) {
    (void)pg::Exec(conn, server, "ROLLBACK");
    return begin.status();
  }
  Status st;
  auto current = pg::Exec(conn, server, "SELECT coalesce(max(version), 0) FROM flare_migrations");
  if (!current.ok()) st = current.status();
  const int known = PostgresSchemaVersion();
  const int target = up_to > 0 && up_to < known ? up_to : known;
  int version = st.ok() ? static_cast<int>(pg::Int(current->get(), 0, 0)) : 0;
  if (st.ok() && version > known) {
    st = Status(Code::kInvalidArgument,
                "PostgreSQL at " + server + ": the database's schema version " +
                    std::to_string(version) + " is newer than this binary knows (" +
                    std::to_string(known) + "); run a newer flare against it");
  }
  for (int v = version + 1; st.ok() && v <= target; ++v) {
    auto applied = pg::Exec(conn, server, Migrations()[v - 1]);
    if (applied.ok()) {
      applied = pg::Exec(conn, server, "INSERT INTO flare_migrations(version) VALUES($1)",
                         {std::to_string(v)});
    }
    if (!applied.ok()) st = applied.status();
  }
  if (!st.ok()) {
    (void)pg::Exec(conn, server, "ROLLBACK");
    return st;
  }
  auto committed = pg::Exec(conn, server, "COMMIT");
  return committed.ok() ? Status::Ok() : committed.status();
}

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int kKeysPerDelete = 5000;  // keeps each retention DELETE short

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The weeks of the partitions `messages` has now.
Result<std::set<int64_t>> ExistingWeeks(PGconn* conn, const std::string& server) {
  auto res = pg::Exec(conn, server,
                      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                      "WHERE i.inhparent = 'messages'::regclass");
  if (!res.ok()) return res.status();
  std::set<int64_t> weeks;
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    std::string name = pg::Text(res->get(), i, 0);
    if (name.rfind("messages_w", 0) != 0) continue;
    weeks.insert(std::strtoll(name.c_str() + 10, nullptr, 10));
  }
  return weeks;
}

}  // namespace

Status PostgresStore::EnsurePartitions(PGconn* conn, const std::set<int64_t>& weeks) {
  for (int64_t week : weeks) {
    auto made =
        pg::Exec(conn, server_, "SELECT flare_message_partition($1)", {std::to_string(week)});
    if (!made.ok()) return made.status();
  }
  std::lock_guard lock(weeks_mu_);
  known_weeks_.insert(weeks.begin(), weeks.end());
  return Status::Ok();
}

// Each partition goes in its own short transaction: the DROP holds the
// parent table's lock only for a moment.
Result<int> PostgresStore::DropExpiredPartitions(PGconn* conn, int64_t boundary_ms) {
  auto existing = ExistingWeeks(conn, server_);
  if (!existing.ok()) return existing.status();
  int dropped = 0;
  for (int64_t week : *existing) {
    if ((week + 1) * kPartitionMs > boundary_ms) break;  // weeks are sorted
    {
      std::lock_guard lock(weeks_mu_);
      known_weeks_.erase(week);
    }
    std::string table = "messages_w" + std::to_string(week);
    char* ident = PQescapeIdentifier(conn, table.data(), table.size());
    if (ident == nullptr) return Internal("cannot quote partition name " + table);
    std::string sql = std::string("DROP TABLE IF EXISTS ") + ident;
    PQfreemem(ident);
    auto res = pg::Exec(conn, server_, sql);
    if (!res.ok()) return res.status();
    ++dropped;
  }
  return dropped;
}

Result<MaintenanceReport> PostgresStore::Maintain(int64_t now_ms) {
  std::lock_guard lock(maintain_mu_);
  if (!maintain_conn_ || pg::Broken(maintain_conn_.get())) {
    auto conn = pg::Connect(options_.dsn, server_);
    if (!conn.ok()) return conn.status();
    maintain_conn_ = std::move(conn).value();
    // Waiting behind a long reader would queue every writer behind us.
    auto set = pg::Exec(maintain_conn_.get(), server_, "SET lock_timeout = '1s'");
    if (!set.ok()) return set.status();
  }
  PGconn* conn = maintain_conn_.get();
  MaintenanceReport report;
  auto existing = ExistingWeeks(conn, server_);
  if (!existing.ok()) return existing.status();
  {
    // The writer need not ask for these before its batches.
    std::lock_guard weeks_lock(weeks_mu_);
    known_weeks_.insert(existing->begin(), existing->end());
  }
  std::set<int64_t> ahead;
  for (int64_t w = PartitionWeek(now_ms); w <= PartitionWeek(now_ms) + kPartitionsAhead; ++w) {
    if (!existing->count(w)) ahead.insert(w);
  }
  FLARE_RETURN_IF_ERROR(EnsurePartitions(conn, ahead));
  report.partitions_created = static_cast<int>(ahead.size());
  auto backfilled = BackfillSearch(conn);
  if (!backfilled.ok()) return backfilled.status();
  report.search_backfilled = *backfilled;
  if (options_.retention_days <= 0) return report;
  // Whole weeks only: a partition goes once all of it is past retention.
  int64_t boundary = PartitionWeek(now_ms - options_.retention_days * kDayMs) * kPartitionMs;
  auto dropped = DropExpiredPartitions(conn, boundary);
  if (!dropped.ok()) return dropped.status();
  report.partitions_dropped = *dropped;
  // The dropped weeks' keys (and any a failed earlier run left), in small
  // transactions so the writer's inserts never wait long on them.
  const std::string chunk = std::to_string(kKeysPerDelete);
  for (;;) {
    auto res = pg::Exec(conn, server_,
                        // A conversation's newest key stays: MaxSeq reads the
                        // keys, and a conversation whose every message expired
                        // must go on from its last seq, not start again at 1.
                        "DELETE FROM message_keys WHERE ctid = ANY(ARRAY(SELECT k.ctid FROM "
                        "message_keys k WHERE k.server_time_ms < $1 AND EXISTS (SELECT 1 FROM "
                        "message_keys n WHERE n.tenant = k.tenant AND n.conversation_id = "
                        "k.conversation_id AND n.seq > k.seq) LIMIT " +
                            chunk + "))",
                        {std::to_string(boundary)});
    if (!res.ok()) return res.status();
    int64_t n = std::strtoll(PQcmdTuples(res->get()), nullptr, 10);
    report.keys_deleted += n;
    if (n < kKeysPerDelete) break;
  }
  return report;
}

void PostgresStore::StartMaintenanceThread() {
  if (options_.maintenance_interval_ms <= 0) return;
  maintainer_ = std::thread([this] {
    std::unique_lock lock(stop_mu_);
    const auto interval = std::chrono::milliseconds(options_.maintenance_interval_ms);
    while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      auto report = Maintain(NowMs());
      if (!report.ok()) {
        spdlog::warn("PostgreSQL store maintenance: {}", report.status().ToString());
      } else if (report->partitions_dropped > 0) {
        spdlog::info("PostgreSQL store retention: dropped {} week partitions, {} keys",
                     report->partitions_dropped, report->keys_deleted);
      }
      lock.lock();
    }
  });
}

PostgresStore::~PostgresStore() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (maintainer_.joinable()) maintainer_.join();
}

// TimescaleDB would offer hypertables instead; this store uses native
// partitioning either way and says so when the extension is available.
void LogPartitioningMode(PGconn* conn, const std::string& server) {
  auto res =
      pg::Exec(conn, server, "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (res.ok() && PQntuples(res->get()) > 0) {
    spdlog::info(
        "PostgreSQL at {}: timescaledb is available; messages use native weekly "
        "range partitions",
        server);
  }
}

Result<std::shared_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  std::string server = pg::ServerName(options.dsn);
  auto conn = pg::Connect(options.dsn, server);
  if (!conn.ok()) return conn.status();
  FLARE_RETURN_IF_ERROR(MigratePostgres(conn->get(), server));
  LogPartitioningMode(conn->get(), server);
  auto syncer = pg::Connect(options.dsn, server);
  if (!syncer.ok()) return syncer.status();
  // Named so that operators (and tests) can tell it from the others.
  auto named = pg::Exec(syncer->get(), server, "SET application_name = 'flare-sync'");
  if (!named.ok()) return named.status();
  std::shared_ptr<PostgresStore> store(new PostgresStore(
      options, std::move(server), std::move(conn).value(), std::move(syncer).value()));
  auto first = store->Maintain(NowMs());
  if (!first.ok()) return first.status();
  store->StartMaintenanceThread();
  return store;
}

}  // namespace flare
