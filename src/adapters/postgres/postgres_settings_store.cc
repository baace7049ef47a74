#include "adapters/postgres/postgres_settings_store.h"

#include "adapters/postgres/postgres_store.h"

namespace flare {

namespace {

// bytea's hex input form, for a text parameter.
std::string ByteaParam(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PostgresSettingsStore>> PostgresSettingsStore::Open(const std::string& dsn) {
  std::string server = pg::ServerName(dsn);
  auto conn = pg::Connect(dsn, server);
  if (!conn.ok()) return conn.status();
  FLARE_RETURN_IF_ERROR(MigratePostgres(conn->get(), server));
  return std::unique_ptr<PostgresSettingsStore>(
      new PostgresSettingsStore(std::move(server), std::move(conn).value()));
}

Result<VersionedDocument> PostgresSettingsStore::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto res = pg::ExecReconnecting(
      conn_.get(), server_, "SELECT version, value FROM flare_settings WHERE key = $1", {key});
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return VersionedDocument{};
  return VersionedDocument{pg::Int(res->get(), 0, 0), pg::Bytea(res->get(), 0, 1)};
}

Result<int64_t> PostgresSettingsStore::Put(const std::string& key, int64_t expected_version,
                                           const std::string& value) {
  std::lock_guard lock(mu_);
  auto res = expected_version == 0
                 ? pg::ExecReconnecting(conn_.get(), server_,
                                        "INSERT INTO flare_settings(key, version, value) "
                                        "VALUES ($1, 1, $2::bytea) ON CONFLICT (key) DO NOTHING",
                                        {key, ByteaParam(value)})
                 : pg::ExecReconnecting(conn_.get(), server_,
                                        "UPDATE flare_settings SET version = version + 1, "
                                        "value = $3::bytea WHERE key = $1 AND version = $2",
                                        {key, std::to_string(expected_version), ByteaParam(value)});
  if (!res.ok()) return res.status();
  if (std::string(PQcmdTuples(res->get())) == "0") {
    return Aborted("settings '" + key + "' were saved by another writer since version " +
                   std::to_string(expected_version));
  }
  return expected_version + 1;
}

}  // namespace flare
