// SqliteStore's pooled read connection (for the store's own .cc files).
#pragma once

#include <memory>

#include "adapters/sqlite/sqlite_store.h"

namespace flare {

// A read connection from the pool, returned to it on destruction.
class SqliteStore::Reader {
 public:
  Reader(SqliteStore* store, std::unique_ptr<sqlite::Db> db) : store_(store), db_(std::move(db)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (db_) store_->ReleaseReader(std::move(db_));
  }
  sqlite::Db* operator->() { return db_.get(); }

 private:
  SqliteStore* store_;
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
