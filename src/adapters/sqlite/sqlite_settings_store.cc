#include "adapters/sqlite/sqlite_settings_store.h"

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_db.h"

namespace flare {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS settings ("
    " key TEXT PRIMARY KEY, version INTEGER NOT NULL, value BLOB NOT NULL)";
constexpr const char* kGet = "SELECT version, value FROM settings WHERE key = ?";
// The first save: nothing happens when the key exists already.
constexpr const char* kInsert =
    "INSERT OR IGNORE INTO settings (key, version, value) VALUES (?, 1, ?)";
constexpr const char* kUpdate =
    "UPDATE settings SET version = version + 1, value = ? WHERE key = ? AND version = ?";
}  // namespace

SqliteSettingsStore::SqliteSettingsStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
SqliteSettingsStore::~SqliteSettingsStore() = default;

Result<std::unique_ptr<SqliteSettingsStore>> SqliteSettingsStore::Open(const std::string& path) {
  auto db = sqlite::Db::Open(path, /*readonly=*/false);
  if (!db.ok()) return db.status();
  FLARE_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  return std::unique_ptr<SqliteSettingsStore>(new SqliteSettingsStore(std::move(db).value()));
}

Result<VersionedDocument> SqliteSettingsStore::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kGet);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, key);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return VersionedDocument{};
  return VersionedDocument{(*stmt)->Int(0), std::string((*stmt)->Blob(1))};
}

Result<int64_t> SqliteSettingsStore::Put(const std::string& key, int64_t expected_version,
                                         const std::string& value) {
  std::lock_guard lock(mu_);
  // The write lock first (waiting up to the busy timeout): a statement
  // that read before another process's commit could not upgrade its read
  // to a write in WAL mode, and would fail at once instead of waiting.
  bool changed = false;
  FLARE_RETURN_IF_ERROR(db_->InTransaction([&]() -> Status {
    auto written = Write(key, expected_version, value);
    if (!written.ok()) return written.status();
    changed = *written;
    return Status::Ok();
  }));
  if (!changed) {
    return Aborted("settings '" + key + "' were saved by another writer since version " +
                   std::to_string(expected_version));
  }
  return expected_version + 1;
}

// Under mu_, inside the transaction: whether a row changed.
Result<bool> SqliteSettingsStore::Write(const std::string& key, int64_t expected_version,
                                        const std::string& value) {
  auto stmt = db_->Prepare(expected_version == 0 ? kInsert : kUpdate);
  if (!stmt.ok()) return stmt.status();
  if (expected_version == 0) {
    (*stmt)->Bind(1, key).BindBlob(2, value);
  } else {
    (*stmt)->BindBlob(1, value).Bind(2, key).Bind(3, expected_version);
  }
  FLARE_RETURN_IF_ERROR((*stmt)->Run());
  return sqlite3_changes(db_->handle()) > 0;
}

}  // namespace flare
