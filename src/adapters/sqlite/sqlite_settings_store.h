// SettingsStore in SQLite: the table settings of its own database file
// (<data_dir>/settings.db), apart from the message store's writer. Several
// processes on the same file see each other's saves; the compare-and-set
// is one statement in a BEGIN IMMEDIATE transaction (SQLite's write lock).
#pragma once

#include <memory>
#include <mutex>

#include "ports/settings_store.h"

namespace flare {

namespace sqlite {
class Db;
}

class SqliteSettingsStore final : public SettingsStore {
 public:
  static Result<std::unique_ptr<SqliteSettingsStore>> Open(const std::string& path);
  ~SqliteSettingsStore() override;
  Result<VersionedDocument> Get(const std::string& key) override;
  Result<int64_t> Put(const std::string& key, int64_t expected_version,
                      const std::string& value) override;

 private:
  explicit SqliteSettingsStore(std::unique_ptr<sqlite::Db> db);
  Result<bool> Write(const std::string& key, int64_t expected_version, const std::string& value);
  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
