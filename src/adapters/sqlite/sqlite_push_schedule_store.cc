#include "adapters/sqlite/sqlite_push_schedule_store.h"

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_db.h"

namespace flare {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS push_templates ("
    " tenant TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,"
    " updated_ms INTEGER NOT NULL, PRIMARY KEY (tenant, name));"
    "CREATE TABLE IF NOT EXISTS scheduled_pushes ("
    " push_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, send_at_ms INTEGER NOT NULL,"
    " request BLOB NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS scheduled_pushes_due ON scheduled_pushes (send_at_ms, push_id)";
constexpr const char* kPutTemplate =
    "INSERT OR REPLACE INTO push_templates (tenant, name, title, body, updated_ms)"
    " VALUES (?, ?, ?, ?, ?)";
constexpr const char* kDeleteTemplate = "DELETE FROM push_templates WHERE tenant = ? AND name = ?";
constexpr const char* kGetTemplate =
    "SELECT tenant, name, title, body, updated_ms FROM push_templates"
    " WHERE tenant = ? AND name = ?";
constexpr const char* kListTemplates =
    "SELECT tenant, name, title, body, updated_ms FROM push_templates"
    " WHERE tenant = ? AND name >= ? ORDER BY name";
constexpr const char* kAddScheduled =
    "INSERT INTO scheduled_pushes (push_id, tenant, send_at_ms, request, created_ms)"
    " VALUES (?, ?, ?, ?, ?)";
constexpr const char* kRemoveScheduled =
    "DELETE FROM scheduled_pushes WHERE tenant = ? AND push_id = ?";
constexpr const char* kDue =
    "SELECT push_id, tenant, send_at_ms, request, created_ms FROM scheduled_pushes"
    " WHERE send_at_ms <= ? ORDER BY send_at_ms, push_id LIMIT ?";
constexpr const char* kListScheduled =
    "SELECT push_id, tenant, send_at_ms, request, created_ms FROM scheduled_pushes"
    " WHERE tenant = ? ORDER BY send_at_ms, push_id";

Result<std::vector<StoredScheduledPush>> ReadScheduled(sqlite::Stmt& s) {
  std::vector<StoredScheduledPush> out;
  while (true) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({s.Text(0), s.Text(1), s.Int(2), std::string(s.Blob(3)), s.Int(4)});
  }
  return out;
}
}  // namespace

SqlitePushScheduleStore::SqlitePushScheduleStore(std::unique_ptr<sqlite::Db> db)
    : db_(std::move(db)) {}
SqlitePushScheduleStore::~SqlitePushScheduleStore() = default;

Result<std::unique_ptr<SqlitePushScheduleStore>> SqlitePushScheduleStore::Open(
    const std::string& path) {
  auto db = sqlite::Db::Open(path, /*readonly=*/false);
  if (!db.ok()) return db.status();
  FLARE_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  return std::unique_ptr<SqlitePushScheduleStore>(
      new SqlitePushScheduleStore(std::move(db).value()));
}

Status SqlitePushScheduleStore::PutTemplate(const StoredPushTemplate& t) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kPutTemplate);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, t.tenant).Bind(2, t.name).Bind(3, t.title).Bind(4, t.body);
  (*stmt)->Bind(5, t.updated_ms);
  return (*stmt)->Run();
}

// Runs a DELETE of one row keyed by (a, b); NotFound when none went.
Status SqlitePushScheduleStore::Removed(const char* sql, const std::string& a, const std::string& b,
                                        const std::string& what) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, a).Bind(2, b);
  FLARE_RETURN_IF_ERROR((*stmt)->Run());
  if (sqlite3_changes(db_->handle()) == 0) return NotFound(what);
  return Status::Ok();
}

Status SqlitePushScheduleStore::DeleteTemplate(const std::string& tenant, const std::string& name) {
  return Removed(kDeleteTemplate, tenant, name, "no template " + name);
}

Result<std::vector<StoredPushTemplate>> SqlitePushScheduleStore::Templates(
    const char* sql, const std::string& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, name);
  std::vector<StoredPushTemplate> out;
  while (true) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const auto& s = **stmt;
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)});
  }
  return out;
}

Result<std::optional<StoredPushTemplate>> SqlitePushScheduleStore::GetTemplate(
    const std::string& tenant, const std::string& name) {
  auto rows = Templates(kGetTemplate, tenant, name);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<StoredPushTemplate>();
  return std::optional<StoredPushTemplate>(std::move(rows->front()));
}

Result<std::vector<StoredPushTemplate>> SqlitePushScheduleStore::ListTemplates(
    const std::string& tenant) {
  return Templates(kListTemplates, tenant, "");
}

Status SqlitePushScheduleStore::AddScheduled(const StoredScheduledPush& p) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kAddScheduled);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, p.push_id).Bind(2, p.tenant).Bind(3, p.send_at_ms).BindBlob(4, p.request);
  (*stmt)->Bind(5, p.created_ms);
  return (*stmt)->Run();
}

Status SqlitePushScheduleStore::RemoveScheduled(const std::string& tenant,
                                                const std::string& push_id) {
  return Removed(kRemoveScheduled, tenant, push_id, "no scheduled push " + push_id);
}

Result<std::vector<StoredScheduledPush>> SqlitePushScheduleStore::Due(int64_t now_ms,
                                                                      size_t limit) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kDue);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
  return ReadScheduled(**stmt);
}

Result<std::vector<StoredScheduledPush>> SqlitePushScheduleStore::ListScheduled(
    const std::string& tenant) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kListScheduled);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant);
  return ReadScheduled(**stmt);
}

}  // namespace flare
