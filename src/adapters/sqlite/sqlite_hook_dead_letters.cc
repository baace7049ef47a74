#include "adapters/sqlite/sqlite_hook_dead_letters.h"

#include <algorithm>

#include "adapters/sqlite/sqlite_db.h"

namespace flare {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS hook_dead_letters ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, hook TEXT NOT NULL, point TEXT NOT NULL,"
    " event_id TEXT NOT NULL, tenant TEXT NOT NULL, payload TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, last_error TEXT NOT NULL, failed_at_ms INTEGER NOT NULL)";
constexpr const char* kInsert =
    "INSERT INTO hook_dead_letters (hook, point, event_id, tenant, payload, attempts,"
    " last_error, failed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kRecent =
    "SELECT hook, point, event_id, tenant, payload, attempts, last_error, failed_at_ms"
    " FROM hook_dead_letters ORDER BY id DESC LIMIT ?";
}  // namespace

SqliteHookDeadLetters::SqliteHookDeadLetters(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
SqliteHookDeadLetters::~SqliteHookDeadLetters() = default;

Result<std::unique_ptr<SqliteHookDeadLetters>> SqliteHookDeadLetters::Open(
    const std::string& path) {
  auto db = sqlite::Db::Open(path, /*readonly=*/false);
  if (!db.ok()) return db.status();
  FLARE_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  return std::unique_ptr<SqliteHookDeadLetters>(new SqliteHookDeadLetters(std::move(db).value()));
}

Status SqliteHookDeadLetters::Add(const HookDeadLetter& l) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kInsert);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, l.hook).Bind(2, l.point).Bind(3, l.event_id).Bind(4, l.tenant);
  (*stmt)->Bind(5, l.payload).Bind(6, static_cast<int64_t>(l.attempts)).Bind(7, l.last_error);
  (*stmt)->Bind(8, l.failed_at_ms);
  return (*stmt)->Run();
}

Result<std::vector<HookDeadLetter>> SqliteHookDeadLetters::Recent(size_t limit) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kRecent);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, static_cast<int64_t>(limit));
  std::vector<HookDeadLetter> out;
  while (true) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const auto& s = **stmt;
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4),
                   static_cast<int>(s.Int(5)), s.Text(6), s.Int(7)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace flare
