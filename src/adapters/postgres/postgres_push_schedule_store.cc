#include "adapters/postgres/postgres_push_schedule_store.h"

#include <cstdlib>

#include "adapters/postgres/postgres_store.h"

namespace flare {

namespace {

constexpr const char* kTemplateColumns = "SELECT tenant, name, title, body, updated_ms";
// The request travels as hex: parameters and results are text.
constexpr const char* kScheduledColumns =
    "SELECT push_id, tenant, send_at_ms, encode(request, 'hex'), created_ms";

std::string FromHex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::strtol(hex.substr(i, 2).c_str(), nullptr, 16)));
  }
  return out;
}

std::string ToHex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PostgresPushScheduleStore>> PostgresPushScheduleStore::Open(
    const std::string& dsn) {
  std::string server = pg::ServerName(dsn);
  auto conn = pg::Connect(dsn, server);
  if (!conn.ok()) return conn.status();
  FLARE_RETURN_IF_ERROR(MigratePostgres(conn->get(), server));
  return std::unique_ptr<PostgresPushScheduleStore>(
      new PostgresPushScheduleStore(std::move(server), std::move(conn).value()));
}

Result<pg::ResultPtr> PostgresPushScheduleStore::Run(const std::string& sql,
                                                     const std::vector<std::string>& params) {
  return pg::ExecReconnecting(conn_.get(), server_, sql, params);
}

Status PostgresPushScheduleStore::Deleted(const std::string& sql,
                                          const std::vector<std::string>& params,
                                          const std::string& what) {
  std::lock_guard lock(mu_);
  auto res = Run(sql, params);
  if (!res.ok()) return res.status();
  if (std::string(PQcmdTuples(res->get())) == "0") return NotFound(what);
  return Status::Ok();
}

Result<std::vector<StoredPushTemplate>> PostgresPushScheduleStore::Templates(
    const std::string& sql, const std::vector<std::string>& params) {
  std::lock_guard lock(mu_);
  auto res = Run(sql, params);
  if (!res.ok()) return res.status();
  std::vector<StoredPushTemplate> out;
  const PGresult* r = res->get();
  for (int i = 0; i < PQntuples(r); ++i) {
    out.push_back({pg::Text(r, i, 0), pg::Text(r, i, 1), pg::Text(r, i, 2), pg::Text(r, i, 3),
                   pg::Int(r, i, 4)});
  }
  return out;
}

Result<std::vector<StoredScheduledPush>> PostgresPushScheduleStore::Scheduled(
    const std::string& sql, const std::vector<std::string>& params) {
  std::lock_guard lock(mu_);
  auto res = Run(sql, params);
  if (!res.ok()) return res.status();
  std::vector<StoredScheduledPush> out;
  const PGresult* r = res->get();
  for (int i = 0; i < PQntuples(r); ++i) {
    out.push_back({pg::Text(r, i, 0), pg::Text(r, i, 1), pg::Int(r, i, 2),
                   FromHex(pg::Text(r, i, 3)), pg::Int(r, i, 4)});
  }
  return out;
}

Status PostgresPushScheduleStore::PutTemplate(const StoredPushTemplate& t) {
  std::lock_guard lock(mu_);
  auto res =
      Run("INSERT INTO push_templates(tenant, name, title, body, updated_ms) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, name) DO UPDATE SET "
          "title = excluded.title, body = excluded.body, updated_ms = excluded.updated_ms",
          {t.tenant, t.name, t.title, t.body, std::to_string(t.updated_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresPushScheduleStore::DeleteTemplate(const std::string& tenant,
                                                 const std::string& name) {
  return Deleted("DELETE FROM push_templates WHERE tenant = $1 AND name = $2", {tenant, name},
                 "no template " + name);
}

Result<std::optional<StoredPushTemplate>> PostgresPushScheduleStore::GetTemplate(
    const std::string& tenant, const std::string& name) {
  auto rows = Templates(
      std::string(kTemplateColumns) + " FROM push_templates WHERE tenant = $1 AND name = $2",
      {tenant, name});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<StoredPushTemplate>();
  return std::optional<StoredPushTemplate>(std::move(rows->front()));
}

Result<std::vector<StoredPushTemplate>> PostgresPushScheduleStore::ListTemplates(
    const std::string& tenant) {
  return Templates(
      std::string(kTemplateColumns) + " FROM push_templates WHERE tenant = $1 ORDER BY name",
      {tenant});
}

Status PostgresPushScheduleStore::AddScheduled(const StoredScheduledPush& p) {
  std::lock_guard lock(mu_);
  auto res =
      Run("INSERT INTO scheduled_pushes(push_id, tenant, send_at_ms, request, created_ms) "
          "VALUES ($1, $2, $3, decode($4, 'hex'), $5)",
          {p.push_id, p.tenant, std::to_string(p.send_at_ms), ToHex(p.request),
           std::to_string(p.created_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresPushScheduleStore::RemoveScheduled(const std::string& tenant,
                                                  const std::string& push_id) {
  return Deleted("DELETE FROM scheduled_pushes WHERE tenant = $1 AND push_id = $2",
                 {tenant, push_id}, "no scheduled push " + push_id);
}

Result<std::vector<StoredScheduledPush>> PostgresPushScheduleStore::Due(int64_t now_ms,
                                                                        size_t limit) {
  return Scheduled(std::string(kScheduledColumns) +
                       " FROM scheduled_pushes WHERE send_at_ms <= $1 "
                       "ORDER BY send_at_ms, push_id LIMIT $2",
                   {std::to_string(now_ms), std::to_string(limit)});
}

Result<std::vector<StoredScheduledPush>> PostgresPushScheduleStore::ListScheduled(
    const std::string& tenant) {
  return Scheduled(std::string(kScheduledColumns) +
                       " FROM scheduled_pushes WHERE tenant = $1 ORDER BY send_at_ms, push_id",
                   {tenant});
}

}  // namespace flare
