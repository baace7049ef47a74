// The PostgreSQL store's schema, as versioned migrations applied at open.
// (A `flare migrate` subcommand and time partitioning with retention are
// planned on top of this.)
#include <string>
#include <vector>

#include "adapters/postgres/postgres_store.h"

namespace flare {
namespace {

// Append only: a released migration never changes.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> migrations = {
      // 1: messages, members, conversations (the SQLite store's tables).
      // body is the serialized client Message for now; a flare.storage.v1
      // record is planned as the stored format.
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
  };
  return migrations;
}

}  // namespace

int PostgresSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status MigratePostgres(PGconn* conn, const std::string& server) {
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
  int version = st.ok() ? static_cast<int>(pg::Int(current->get(), 0, 0)) : 0;
  if (st.ok() && version > known) {
    st = Status(Code::kInvalidArgument,
                "PostgreSQL at " + server + ": the database's schema version " +
                    std::to_string(version) + " is newer than this binary knows (" +
                    std::to_string(known) + "); run a newer flare against it");
  }
  for (int v = version + 1; st.ok() && v <= known; ++v) {
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

}  // namespace flare
