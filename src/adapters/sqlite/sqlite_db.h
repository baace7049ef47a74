// A thin RAII layer over one sqlite3 connection with a prepared-statement
// cache. Not thread-safe: each thread uses its own connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace flare::sqlite {

constexpr int kBusyTimeoutMs = 5000;

class Db;

// A prepared statement borrowed from the cache; reset when it goes away.
class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, int64_t value);
  Stmt& BindBlob(int index, std::string_view bytes);

  // SQLITE_ROW -> true, SQLITE_DONE -> false, else an error.
  Result<bool> Step();
  Status Run();  // Step until done

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;
  std::string_view Blob(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  ~Db();
  // `vfs`: a registered SQLite VFS name, or empty for the default.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool readonly,
                                          const std::string& vfs = "");
  Status Exec(const std::string& sql);
  Result<std::unique_ptr<Stmt>> Prepare(const char* sql);  // cached by pointer
  // Runs `body` (returning Status) inside BEGIN IMMEDIATE ... COMMIT, with a
  // ROLLBACK when the body or the COMMIT fails; the first error is returned.
  // IMMEDIATE takes the write lock first: a read in WAL mode could not be
  // upgraded to a write once another connection committed. The ROLLBACK
  // after a failed COMMIT matters: a COMMIT refused (a deferred constraint,
  // SQLITE_BUSY) leaves the transaction open, and every later BEGIN of the
  // connection would fail.
  template <typename Body>
  Status InTransaction(Body body) {
    FLARE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st = body();
    if (st.ok()) st = Exec("COMMIT");
    if (!st.ok()) (void)Exec("ROLLBACK");
    return st;
  }
  std::string Error() const { return sqlite3_errmsg(db_); }
  sqlite3* handle() { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace flare::sqlite
