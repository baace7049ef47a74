#include "adapters/sqlite/sqlite_device_store.h"

#include "adapters/sqlite/sqlite_db.h"

namespace flare {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS push_devices ("
    " tenant TEXT NOT NULL, user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
    " platform TEXT NOT NULL, token TEXT NOT NULL, locale TEXT NOT NULL,"
    " disabled INTEGER NOT NULL, disabled_reason TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, user_id, device_id));"
    "CREATE INDEX IF NOT EXISTS push_devices_by_token ON push_devices(tenant, platform, token);"
    "CREATE TABLE IF NOT EXISTS push_mutes ("
    " tenant TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,"
    " until_ms INTEGER NOT NULL, PRIMARY KEY (tenant, user_id, conversation_id));"
    "CREATE TABLE IF NOT EXISTS push_dnd ("
    " tenant TEXT NOT NULL, user_id TEXT NOT NULL, start_minute INTEGER NOT NULL,"
    " end_minute INTEGER NOT NULL, utc_offset_minutes INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, user_id))";
constexpr const char* kDropTokenElsewhere =
    "DELETE FROM push_devices WHERE tenant = ? AND platform = ? AND token = ?"
    " AND NOT (user_id = ? AND device_id = ?)";
constexpr const char* kUpsertDevice =
    "INSERT OR REPLACE INTO push_devices (tenant, user_id, device_id, platform, token, locale,"
    " disabled, disabled_reason, updated_ms) VALUES (?, ?, ?, ?, ?, ?, 0, '', ?)";
constexpr const char* kDeleteDevice =
    "DELETE FROM push_devices WHERE tenant = ? AND user_id = ? AND device_id = ?";
constexpr const char* kDevicesOfUser =
    "SELECT device_id, platform, token, locale, disabled, disabled_reason, updated_ms"
    " FROM push_devices WHERE tenant = ? AND user_id = ? ORDER BY device_id";
constexpr const char* kDisableToken =
    "UPDATE push_devices SET disabled = 1, disabled_reason = ?"
    " WHERE tenant = ? AND platform = ? AND token = ?";
constexpr const char* kUpsertMute =
    "INSERT OR REPLACE INTO push_mutes (tenant, user_id, conversation_id, until_ms)"
    " VALUES (?, ?, ?, ?)";
constexpr const char* kDeleteMute =
    "DELETE FROM push_mutes WHERE tenant = ? AND user_id = ? AND conversation_id = ?";
constexpr const char* kMutesOf =
    "SELECT conversation_id, until_ms FROM push_mutes WHERE tenant = ? AND user_id = ?";
constexpr const char* kUpsertDnd =
    "INSERT OR REPLACE INTO push_dnd (tenant, user_id, start_minute, end_minute,"
    " utc_offset_minutes) VALUES (?, ?, ?, ?, ?)";
constexpr const char* kDeleteDnd = "DELETE FROM push_dnd WHERE tenant = ? AND user_id = ?";
constexpr const char* kDndOf =
    "SELECT start_minute, end_minute, utc_offset_minutes FROM push_dnd"
    " WHERE tenant = ? AND user_id = ?";
}  // namespace

SqliteDeviceStore::SqliteDeviceStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
SqliteDeviceStore::~SqliteDeviceStore() = default;

Result<std::unique_ptr<SqliteDeviceStore>> SqliteDeviceStore::Open(const std::string& path) {
  auto db = sqlite::Db::Open(path, /*readonly=*/false);
  if (!db.ok()) return db.status();
  FLARE_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  return std::unique_ptr<SqliteDeviceStore>(new SqliteDeviceStore(std::move(db).value()));
}

Status SqliteDeviceStore::Register(const PushDevice& d) {
  std::lock_guard lock(mu_);
  return db_->InTransaction([&]() -> Status {
    // One token, one device: the token leaves whichever device held it.
    auto drop = db_->Prepare(kDropTokenElsewhere);
    if (!drop.ok()) return drop.status();
    (*drop)->Bind(1, d.tenant).Bind(2, d.platform).Bind(3, d.token);
    (*drop)->Bind(4, d.user_id).Bind(5, d.device_id);
    FLARE_RETURN_IF_ERROR((*drop)->Run());
    auto upsert = db_->Prepare(kUpsertDevice);
    if (!upsert.ok()) return upsert.status();
    (*upsert)->Bind(1, d.tenant).Bind(2, d.user_id).Bind(3, d.device_id).Bind(4, d.platform);
    (*upsert)->Bind(5, d.token).Bind(6, d.locale).Bind(7, d.updated_ms);
    return (*upsert)->Run();
  });
}

Status SqliteDeviceStore::Unregister(const std::string& tenant, const std::string& user_id,
                                     const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kDeleteDevice);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, user_id).Bind(3, device_id);
  return (*stmt)->Run();
}

Result<std::vector<PushDevice>> SqliteDeviceStore::DevicesOf(const std::string& tenant,
                                                             std::span<const std::string> users) {
  std::lock_guard lock(mu_);
  std::vector<PushDevice> out;
  for (const auto& user : users) {
    auto stmt = db_->Prepare(kDevicesOfUser);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, tenant).Bind(2, user);
    while (true) {
      auto row = (*stmt)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const auto& s = **stmt;
      out.push_back({tenant, user, s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4) != 0,
                     s.Text(5), s.Int(6)});
    }
  }
  return out;
}

Status SqliteDeviceStore::DisableToken(const std::string& tenant, const std::string& platform,
                                       const std::string& token, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kDisableToken);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, reason).Bind(2, tenant).Bind(3, platform).Bind(4, token);
  return (*stmt)->Run();
}

Status SqliteDeviceStore::SetMute(const std::string& tenant, const std::string& user_id,
                                  const std::string& conversation_id, int64_t until_ms) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(until_ms == 0 ? kDeleteMute : kUpsertMute);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, user_id).Bind(3, conversation_id);
  if (until_ms != 0) (*stmt)->Bind(4, until_ms);
  return (*stmt)->Run();
}

Status SqliteDeviceStore::SetDoNotDisturb(const std::string& tenant, const std::string& user_id,
                                          const std::optional<DndWindow>& window) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(window ? kUpsertDnd : kDeleteDnd);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, user_id);
  if (window) {
    (*stmt)->Bind(3, int64_t{window->start_minute}).Bind(4, int64_t{window->end_minute});
    (*stmt)->Bind(5, int64_t{window->utc_offset_minutes});
  }
  return (*stmt)->Run();
}

Result<PushPreferences> SqliteDeviceStore::Preferences(const std::string& tenant,
                                                       const std::string& user_id) {
  std::lock_guard lock(mu_);
  PushPreferences prefs;
  auto mutes = db_->Prepare(kMutesOf);
  if (!mutes.ok()) return mutes.status();
  (*mutes)->Bind(1, tenant).Bind(2, user_id);
  while (true) {
    auto row = (*mutes)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    prefs.muted_until_ms[(*mutes)->Text(0)] = (*mutes)->Int(1);
  }
  auto dnd = db_->Prepare(kDndOf);
  if (!dnd.ok()) return dnd.status();
  (*dnd)->Bind(1, tenant).Bind(2, user_id);
  auto row = (*dnd)->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    const auto& s = **dnd;
    prefs.dnd = DndWindow{static_cast<int>(s.Int(0)), static_cast<int>(s.Int(1)),
                          static_cast<int>(s.Int(2))};
  }
  return prefs;
}

}  // namespace flare
