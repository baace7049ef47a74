// SettingsStore in PostgreSQL: the table flare_settings (schema migration
// 7), shared by every process of a deployment on the same database. The
// compare-and-set is one UPDATE ... WHERE version = expected (a concurrent
// one waits for the row lock, then finds the version moved). One
// connection behind a mutex; a call that finds it broken resets it and
// tries once more.
#pragma once

#include <memory>
#include <mutex>

#include "adapters/postgres/pg_conn.h"
#include "ports/settings_store.h"

namespace flare {

class PostgresSettingsStore final : public SettingsStore {
 public:
  // Connects and applies pending schema migrations (as PostgresStore::Open).
  static Result<std::unique_ptr<PostgresSettingsStore>> Open(const std::string& dsn);

  Result<VersionedDocument> Get(const std::string& key) override;
  Result<int64_t> Put(const std::string& key, int64_t expected_version,
                      const std::string& value) override;

 private:
  PostgresSettingsStore(std::string server, pg::ConnPtr conn)
      : server_(std::move(server)), conn_(std::move(conn)) {}

  const std::string server_;
  std::mutex mu_;
  pg::ConnPtr conn_;
};

}  // namespace flare
