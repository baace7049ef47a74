// HookDeadLetters in SQLite: table hook_dead_letters of its own database
// file (<data_dir>/hooks.db in embedded mode), so that dead letters never
// contend with the message store's writer for its write lock.
#pragma once

#include <memory>
#include <mutex>

#include "ports/hook_dead_letters.h"

namespace flare {

namespace sqlite {
class Db;
}

class SqliteHookDeadLetters final : public HookDeadLetters {
 public:
  static Result<std::unique_ptr<SqliteHookDeadLetters>> Open(const std::string& path);
  ~SqliteHookDeadLetters() override;
  Status Add(const HookDeadLetter& letter) override;
  Result<std::vector<HookDeadLetter>> Recent(size_t limit) override;

 private:
  explicit SqliteHookDeadLetters(std::unique_ptr<sqlite::Db> db);
  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
