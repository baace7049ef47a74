#include "adapters/postgres/postgres_media_store.h"

#include <cstdlib>

#include "adapters/postgres/postgres_store.h"

namespace flare {

namespace {

const std::string kColumns =
    "tenant, media_id, owner, sha256, mime_type, size, width, height, object_key, "
    "thumbnail_key, thumbnail_mime, thumbnail_size, created_ms, refs, unreferenced_since_ms";
const std::string kUploadColumns =
    "tenant, upload_id, owner, media_id, object_key, store_upload_id, created_ms";

MediaRecord RecordAt(const PGresult* res, int row) {
  MediaRecord r;
  r.tenant = pg::Text(res, row, 0);
  r.media_id = pg::Text(res, row, 1);
  r.owner = pg::Text(res, row, 2);
  r.sha256 = pg::Text(res, row, 3);
  r.mime_type = pg::Text(res, row, 4);
  r.size = static_cast<uint64_t>(pg::Int(res, row, 5));
  r.width = static_cast<int32_t>(pg::Int(res, row, 6));
  r.height = static_cast<int32_t>(pg::Int(res, row, 7));
  r.object_key = pg::Text(res, row, 8);
  r.thumbnail_key = pg::Text(res, row, 9);
  r.thumbnail_mime = pg::Text(res, row, 10);
  r.thumbnail_size = static_cast<uint64_t>(pg::Int(res, row, 11));
  r.created_ms = pg::Int(res, row, 12);
  r.refs = pg::Int(res, row, 13);
  r.unreferenced_since_ms = pg::Int(res, row, 14);
  return r;
}

UploadRecord UploadAt(const PGresult* res, int row) {
  UploadRecord u;
  u.tenant = pg::Text(res, row, 0);
  u.upload_id = pg::Text(res, row, 1);
  u.owner = pg::Text(res, row, 2);
  u.media_id = pg::Text(res, row, 3);
  u.object_key = pg::Text(res, row, 4);
  u.store_upload_id = pg::Text(res, row, 5);
  u.created_ms = pg::Int(res, row, 6);
  return u;
}

int64_t RowsChanged(const PGresult* res) {
  return std::strtoll(PQcmdTuples(const_cast<PGresult*>(res)), nullptr, 10);
}

std::string N(int64_t v) { return std::to_string(v); }

}  // namespace

Result<std::unique_ptr<PostgresMediaStore>> PostgresMediaStore::Open(const std::string& dsn) {
  std::string server = pg::ServerName(dsn);
  auto conn = pg::Connect(dsn, server);
  if (!conn.ok()) return conn.status();
  FLARE_RETURN_IF_ERROR(MigratePostgres(conn->get(), server));
  return std::unique_ptr<PostgresMediaStore>(
      new PostgresMediaStore(std::move(server), std::move(conn).value()));
}

Result<pg::ResultPtr> PostgresMediaStore::Exec(const std::string& sql,
                                               const std::vector<std::string>& params) {
  return pg::ExecReconnecting(conn_.get(), server_, sql, params);
}

Result<MediaRecord> PostgresMediaStore::GetOne(const std::string& sql, const std::string& tenant,
                                               const std::string& id) {
  auto res = Exec(sql, {tenant, id});
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return NotFound("no media " + id + " of tenant " + tenant);
  return RecordAt(res->get(), 0);
}

Status PostgresMediaStore::Insert(const MediaRecord& r) {
  std::lock_guard lock(mu_);
  auto res = Exec("INSERT INTO media (" + kColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                  {r.tenant, r.media_id, r.owner, r.sha256, r.mime_type,
                   N(static_cast<int64_t>(r.size)), N(r.width), N(r.height), r.object_key,
                   r.thumbnail_key, r.thumbnail_mime, N(static_cast<int64_t>(r.thumbnail_size)),
                   N(r.created_ms), N(r.refs), N(r.unreferenced_since_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Result<MediaRecord> PostgresMediaStore::Get(const std::string& tenant,
                                            const std::string& media_id) {
  std::lock_guard lock(mu_);
  return GetOne("SELECT " + kColumns + " FROM media WHERE tenant = $1 AND media_id = $2", tenant,
                media_id);
}

Result<MediaRecord> PostgresMediaStore::FindByHash(const std::string& tenant,
                                                   const std::string& sha256) {
  std::lock_guard lock(mu_);
  return GetOne("SELECT " + kColumns + " FROM media WHERE tenant = $1 AND sha256 = $2", tenant,
                sha256);
}

Status PostgresMediaStore::Touch(const std::string& tenant, const std::string& media_id,
                                 int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "UPDATE media SET unreferenced_since_ms = CASE WHEN refs = 0 THEN $3::bigint ELSE "
      "unreferenced_since_ms END WHERE tenant = $1 AND media_id = $2",
      {tenant, media_id, N(now_ms)});
  if (!res.ok()) return res.status();
  if (RowsChanged(res->get()) == 0)
    return NotFound("no media " + media_id + " of tenant " + tenant);
  return Status::Ok();
}

Status PostgresMediaStore::AddRef(const std::string& tenant, const std::string& media_id,
                                  const std::string& conversation_id, int64_t seq) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "WITH added AS (INSERT INTO media_refs (tenant, conversation_id, seq, media_id) "
      "SELECT $1, $3, $4::bigint, $2 WHERE EXISTS (SELECT 1 FROM media WHERE tenant = $1 AND "
      "media_id = $2) ON CONFLICT DO NOTHING RETURNING media_id) "
      "UPDATE media SET refs = refs + 1 WHERE tenant = $1 AND media_id IN (SELECT media_id FROM "
      "added)",
      {tenant, media_id, conversation_id, N(seq)});
  return res.ok() ? Status::Ok() : res.status();
}

Status PostgresMediaStore::ReleaseMessage(const std::string& tenant,
                                          const std::string& conversation_id, int64_t seq,
                                          int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "WITH released AS (DELETE FROM media_refs WHERE tenant = $1 AND conversation_id = $2 AND "
      "seq = $3::bigint RETURNING media_id) "
      "UPDATE media SET refs = refs - 1, unreferenced_since_ms = CASE WHEN refs = 1 THEN "
      "$4::bigint ELSE unreferenced_since_ms END WHERE tenant = $1 AND media_id IN (SELECT "
      "media_id FROM released)",
      {tenant, conversation_id, N(seq), N(now_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Result<std::vector<MediaRecord>> PostgresMediaStore::ListOrphans(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  auto res = Exec("SELECT " + kColumns +
                      " FROM media WHERE refs = 0 AND unreferenced_since_ms <= $1::bigint "
                      "ORDER BY unreferenced_since_ms LIMIT $2::bigint",
                  {N(cutoff_ms), N(static_cast<int64_t>(limit))});
  if (!res.ok()) return res.status();
  std::vector<MediaRecord> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) out.push_back(RecordAt(res->get(), i));
  return out;
}

Result<bool> PostgresMediaStore::DeleteIfOrphan(const std::string& tenant,
                                                const std::string& media_id, int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "DELETE FROM media WHERE tenant = $1 AND media_id = $2 AND refs = 0 AND "
      "unreferenced_since_ms <= $3::bigint",
      {tenant, media_id, N(cutoff_ms)});
  if (!res.ok()) return res.status();
  return RowsChanged(res->get()) > 0;
}

Status PostgresMediaStore::InsertUpload(const UploadRecord& u) {
  std::lock_guard lock(mu_);
  auto res =
      Exec("INSERT INTO media_uploads (" + kUploadColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
           {u.tenant, u.upload_id, u.owner, u.media_id, u.object_key, u.store_upload_id,
            N(u.created_ms)});
  return res.ok() ? Status::Ok() : res.status();
}

Result<UploadRecord> PostgresMediaStore::GetUpload(const std::string& tenant,
                                                   const std::string& upload_id) {
  std::lock_guard lock(mu_);
  auto res =
      Exec("SELECT " + kUploadColumns + " FROM media_uploads WHERE tenant = $1 AND upload_id = $2",
           {tenant, upload_id});
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) {
    return NotFound("no upload " + upload_id + " of tenant " + tenant);
  }
  UploadRecord upload = UploadAt(res->get(), 0);
  auto parts =
      Exec("SELECT part_number, size FROM media_upload_parts WHERE tenant = $1 AND upload_id = $2",
           {tenant, upload_id});
  if (!parts.ok()) return parts.status();
  for (int i = 0; i < PQntuples(parts->get()); ++i) {
    upload.parts[static_cast<int>(pg::Int(parts->get(), i, 0))] =
        static_cast<uint64_t>(pg::Int(parts->get(), i, 1));
  }
  return upload;
}

Status PostgresMediaStore::PutUploadPart(const std::string& tenant, const std::string& upload_id,
                                         int part_number, uint64_t size) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "INSERT INTO media_upload_parts (tenant, upload_id, part_number, size) "
      "SELECT $1, $2, $3::integer, $4::bigint WHERE EXISTS (SELECT 1 FROM media_uploads WHERE "
      "tenant = $1 AND upload_id = $2) ON CONFLICT (tenant, upload_id, part_number) DO UPDATE "
      "SET size = EXCLUDED.size",
      {tenant, upload_id, N(part_number), N(static_cast<int64_t>(size))});
  if (!res.ok()) return res.status();
  if (RowsChanged(res->get()) == 0) {
    return NotFound("no upload " + upload_id + " of tenant " + tenant);
  }
  return Status::Ok();
}

Status PostgresMediaStore::DeleteUpload(const std::string& tenant, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  auto res = Exec(
      "WITH parts AS (DELETE FROM media_upload_parts WHERE tenant = $1 AND upload_id = $2) "
      "DELETE FROM media_uploads WHERE tenant = $1 AND upload_id = $2",
      {tenant, upload_id});
  return res.ok() ? Status::Ok() : res.status();
}

Result<std::vector<UploadRecord>> PostgresMediaStore::ListUploadsBefore(int64_t cutoff_ms,
                                                                        size_t limit) {
  std::lock_guard lock(mu_);
  auto res = Exec("SELECT " + kUploadColumns +
                      " FROM media_uploads WHERE created_ms <= $1::bigint ORDER BY created_ms "
                      "LIMIT $2::bigint",
                  {N(cutoff_ms), N(static_cast<int64_t>(limit))});
  if (!res.ok()) return res.status();
  std::vector<UploadRecord> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) out.push_back(UploadAt(res->get(), i));
  return out;
}

}  // namespace flare
