#include "adapters/postgres/postgres_device_store.h"

#include "adapters/postgres/postgres_store.h"

namespace flare {

Result<std::unique_ptr<PostgresDeviceStore>> PostgresDeviceStore::Open(const std::string& dsn) {
  std::string server = pg::ServerName(dsn);
  auto conn = pg::Connect(dsn, server);
  if (!conn.ok()) return conn.status();
  FLARE_RETURN_IF_ERROR(MigratePostgres(conn->get(), server));
  return std::unique_ptr<PostgresDeviceStore>(
      new PostgresDeviceStore(std::move(server), std::move(conn).value()));
}

Result<pg::ResultPtr> PostgresDeviceStore::Run(const std::string& sql,
                                               const std::vector<std::string>& params) {
  return pg::ExecReconnecting(conn_.get(), server_, sql, params);
}

Status PostgresDeviceStore::Register(const PushDevice& d) {
  std::lock_guard lock(mu_);
  // One statement, so it is atomic without an explicit transaction: the
  // token leaves whichever device held it, and (tenant, user, device) is
  // inserted or replaced, enabled again.
  auto res =
      Run("WITH dropped AS (DELETE FROM push_devices WHERE tenant = $1 AND platform = $4 AND "
          "token = $5 AND NOT (user_id = $2 AND device_id = $3)) "
          "INSERT INTO push_devices(tenant, user_id, device_id, platform, token, locale, disabled, "
          "disabled_reason, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, false, '', $7) "
          "ON CONFLICT (tenant, user_id, device_id) DO UPDATE SET platform = excluded.platform, "
          "token = excluded.token, locale = excluded.locale, disabled = false, "
          "disabled_reason = '', updated_ms = excluded.updated_ms",
          {d.tenant, d.user_id, d.device_id, d.platform, d.token, d.locale,
           std::to_string(d.updated_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresDeviceStore::Unregister(const std::string& tenant, const std::string& user_id,
                                       const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto res = Run("DELETE FROM push_devices WHERE tenant = $1 AND user_id = $2 AND device_id = $3",
                 {tenant, user_id, device_id});
  return res.ok() ? Status::Ok() : res.status();
}

Result<std::vector<PushDevice>> PostgresDeviceStore::DevicesOf(const std::string& tenant,
                                                               std::span<const std::string> users) {
  std::vector<std::string_view> names(users.begin(), users.end());
  std::lock_guard lock(mu_);
  auto res = Run(
      "SELECT user_id, device_id, platform, token, locale, disabled, disabled_reason, updated_ms "
      "FROM push_devices WHERE tenant = $1 AND user_id = ANY($2::text[]) "
      "ORDER BY user_id, device_id",
      {tenant, pg::ArrayLiteral(names)});
  if (!res.ok()) return res.status();
  std::vector<PushDevice> out;
  const PGresult* r = res->get();
  for (int i = 0; i < PQntuples(r); ++i) {
    out.push_back({tenant, pg::Text(r, i, 0), pg::Text(r, i, 1), pg::Text(r, i, 2),
                   pg::Text(r, i, 3), pg::Text(r, i, 4), pg::Text(r, i, 5) == "t",
                   pg::Text(r, i, 6), pg::Int(r, i, 7)});
  }
  return out;
}

Status PostgresDeviceStore::DisableToken(const std::string& tenant, const std::string& platform,
                                         const std::string& token, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto res =
      Run("UPDATE push_devices SET disabled = true, disabled_reason = $4 "
          "WHERE tenant = $1 AND platform = $2 AND token = $3",
          {tenant, platform, token, reason});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresDeviceStore::SetMute(const std::string& tenant, const std::string& user_id,
                                    const std::string& conversation_id, int64_t until_ms) {
  std::lock_guard lock(mu_);
  auto res = until_ms == 0
                 ? Run("DELETE FROM push_mutes WHERE tenant = $1 AND user_id = $2 AND "
                       "conversation_id = $3",
                       {tenant, user_id, conversation_id})
                 : Run("INSERT INTO push_mutes(tenant, user_id, conversation_id, until_ms) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, user_id, conversation_id) "
                       "DO UPDATE SET until_ms = excluded.until_ms",
                       {tenant, user_id, conversation_id, std::to_string(until_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresDeviceStore::SetDoNotDisturb(const std::string& tenant, const std::string& user_id,
                                            const std::optional<DndWindow>& window) {
  std::lock_guard lock(mu_);
  auto res =
      !window
          ? Run("DELETE FROM push_dnd WHERE tenant = $1 AND user_id = $2", {tenant, user_id})
          : Run("INSERT INTO push_dnd(tenant, user_id, start_minute, end_minute, "
                "utc_offset_minutes) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (tenant, user_id) DO UPDATE SET "
                "start_minute = excluded.start_minute, "
                "end_minute = excluded.end_minute, "
                "utc_offset_minutes = excluded.utc_offset_minutes",
                {tenant, user_id, std::to_string(window->start_minute),
                 std::to_string(window->end_minute), std::to_string(window->utc_offset_minutes)});
  return res.ok() ? Status::Ok() : res.status();
}

Result<PushPreferences> PostgresDeviceStore::Preferences(const std::string& tenant,
                                                         const std::string& user_id) {
  std::lock_guard lock(mu_);
  PushPreferences prefs;
  auto mutes =
      Run("SELECT conversation_id, until_ms FROM push_mutes WHERE tenant = $1 AND user_id = $2",
          {tenant, user_id});
  if (!mutes.ok()) return mutes.status();
  for (int i = 0; i < PQntuples(mutes->get()); ++i) {
    prefs.muted_until_ms[pg::Text(mutes->get(), i, 0)] = pg::Int(mutes->get(), i, 1);
  }
  auto dnd =
      Run("SELECT start_minute, end_minute, utc_offset_minutes FROM push_dnd "
          "WHERE tenant = $1 AND user_id = $2",
          {tenant, user_id});
  if (!dnd.ok()) return dnd.status();
  if (PQntuples(dnd->get()) > 0) {
    const PGresult* r = dnd->get();
    prefs.dnd = DndWindow{static_cast<int>(pg::Int(r, 0, 0)), static_cast<int>(pg::Int(r, 0, 1)),
                          static_cast<int>(pg::Int(r, 0, 2))};
  }
  return prefs;
}

}  // namespace flare
