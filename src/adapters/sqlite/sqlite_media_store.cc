#include "adapters/sqlite/sqlite_media_store.h"

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_db.h"

namespace flare {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS media(
  tenant TEXT NOT NULL, media_id TEXT NOT NULL, owner TEXT NOT NULL, sha256 TEXT NOT NULL,
  mime_type TEXT NOT NULL, size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  object_key TEXT NOT NULL, thumbnail_key TEXT NOT NULL, thumbnail_mime TEXT NOT NULL,
  thumbnail_size INTEGER NOT NULL, created_ms INTEGER NOT NULL, refs INTEGER NOT NULL,
  unreferenced_since_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, media_id));
CREATE UNIQUE INDEX IF NOT EXISTS media_by_hash ON media(tenant, sha256);
CREATE INDEX IF NOT EXISTS media_orphans ON media(unreferenced_since_ms) WHERE refs = 0;
CREATE TABLE IF NOT EXISTS media_refs(
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  media_id TEXT NOT NULL,
  PRIMARY KEY (tenant, conversation_id, seq, media_id));
CREATE TABLE IF NOT EXISTS media_uploads(
  tenant TEXT NOT NULL, upload_id TEXT NOT NULL, owner TEXT NOT NULL, media_id TEXT NOT NULL,
  object_key TEXT NOT NULL, store_upload_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, upload_id));
CREATE INDEX IF NOT EXISTS media_uploads_by_time ON media_uploads(created_ms);
CREATE TABLE IF NOT EXISTS media_upload_parts(
  tenant TEXT NOT NULL, upload_id TEXT NOT NULL, part_number INTEGER NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (tenant, upload_id, part_number));
)sql";

#define MEDIA_COLUMNS                                                             \
  "tenant, media_id, owner, sha256, mime_type, size, width, height, object_key, " \
  "thumbnail_key, thumbnail_mime, thumbnail_size, created_ms, refs, unreferenced_since_ms"

constexpr const char* kInsert =
    "INSERT INTO media (" MEDIA_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kGet =
    "SELECT " MEDIA_COLUMNS " FROM media WHERE tenant = ? AND media_id = ?";
constexpr const char* kByHash =
    "SELECT " MEDIA_COLUMNS " FROM media WHERE tenant = ? AND sha256 = ?";
constexpr const char* kTouch =
    "UPDATE media SET unreferenced_since_ms = ? WHERE tenant = ? AND media_id = ? AND refs = 0";
constexpr const char* kExists = "SELECT 1 FROM media WHERE tenant = ? AND media_id = ?";
constexpr const char* kInsertRef =
    "INSERT OR IGNORE INTO media_refs (tenant, conversation_id, seq, media_id) VALUES (?, ?, ?, ?)";
constexpr const char* kCountRef =
    "UPDATE media SET refs = refs + 1 WHERE tenant = ? AND media_id = ?";
constexpr const char* kRelease =
    "UPDATE media SET refs = refs - 1, unreferenced_since_ms = CASE WHEN refs = 1 THEN ? ELSE "
    "unreferenced_since_ms END WHERE tenant = ? AND media_id IN (SELECT media_id FROM media_refs "
    "WHERE tenant = ? AND conversation_id = ? AND seq = ?)";
constexpr const char* kDeleteRefs =
    "DELETE FROM media_refs WHERE tenant = ? AND conversation_id = ? AND seq = ?";
constexpr const char* kOrphans = "SELECT " MEDIA_COLUMNS
                                 " FROM media WHERE refs = 0 AND unreferenced_since_ms <= ? "
                                 "ORDER BY unreferenced_since_ms LIMIT ?";
constexpr const char* kDeleteOrphan =
    "DELETE FROM media WHERE tenant = ? AND media_id = ? AND refs = 0 AND "
    "unreferenced_since_ms <= ?";
constexpr const char* kInsertUpload =
    "INSERT INTO media_uploads (tenant, upload_id, owner, media_id, object_key, "
    "store_upload_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kGetUpload =
    "SELECT tenant, upload_id, owner, media_id, object_key, store_upload_id, created_ms "
    "FROM media_uploads WHERE tenant = ? AND upload_id = ?";
constexpr const char* kGetParts =
    "SELECT part_number, size FROM media_upload_parts WHERE tenant = ? AND upload_id = ?";
constexpr const char* kPutPart =
    "INSERT OR REPLACE INTO media_upload_parts (tenant, upload_id, part_number, size) "
    "VALUES (?, ?, ?, ?)";
constexpr const char* kDeleteUpload =
    "DELETE FROM media_uploads WHERE tenant = ? AND upload_id = ?";
constexpr const char* kDeleteParts =
    "DELETE FROM media_upload_parts WHERE tenant = ? AND upload_id = ?";
constexpr const char* kOldUploads =
    "SELECT tenant, upload_id, owner, media_id, object_key, store_upload_id, created_ms "
    "FROM media_uploads WHERE created_ms <= ? ORDER BY created_ms LIMIT ?";

MediaRecord RecordOf(const sqlite::Stmt& s) {
  MediaRecord r;
  r.tenant = s.Text(0);
  r.media_id = s.Text(1);
  r.owner = s.Text(2);
  r.sha256 = s.Text(3);
  r.mime_type = s.Text(4);
  r.size = static_cast<uint64_t>(s.Int(5));
  r.width = static_cast<int32_t>(s.Int(6));
  r.height = static_cast<int32_t>(s.Int(7));
  r.object_key = s.Text(8);
  r.thumbnail_key = s.Text(9);
  r.thumbnail_mime = s.Text(10);
  r.thumbnail_size = static_cast<uint64_t>(s.Int(11));
  r.created_ms = s.Int(12);
  r.refs = s.Int(13);
  r.unreferenced_since_ms = s.Int(14);
  return r;
}

UploadRecord UploadOf(const sqlite::Stmt& s) {
  UploadRecord u;
  u.tenant = s.Text(0);
  u.upload_id = s.Text(1);
  u.owner = s.Text(2);
  u.media_id = s.Text(3);
  u.object_key = s.Text(4);
  u.store_upload_id = s.Text(5);
  u.created_ms = s.Int(6);
  return u;
}

int64_t Signed(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

SqliteMediaStore::SqliteMediaStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
SqliteMediaStore::~SqliteMediaStore() = default;

Result<std::unique_ptr<SqliteMediaStore>> SqliteMediaStore::Open(const std::string& path) {
  auto db = sqlite::Db::Open(path, /*readonly=*/false);
  if (!db.ok()) return db.status();
  FLARE_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  return std::unique_ptr<SqliteMediaStore>(new SqliteMediaStore(std::move(db).value()));
}

Status SqliteMediaStore::RunOne(const char* sql, const std::function<void(sqlite::Stmt&)>& bind) {
  auto stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(**stmt);
  return (*stmt)->Run();
}

Status SqliteMediaStore::Insert(const MediaRecord& r) {
  std::lock_guard lock(mu_);
  return RunOne(kInsert, [&](sqlite::Stmt& s) {
    s.Bind(1, r.tenant).Bind(2, r.media_id).Bind(3, r.owner).Bind(4, r.sha256);
    s.Bind(5, r.mime_type).Bind(6, Signed(r.size)).Bind(7, int64_t{r.width});
    s.Bind(8, int64_t{r.height}).Bind(9, r.object_key).Bind(10, r.thumbnail_key);
    s.Bind(11, r.thumbnail_mime).Bind(12, Signed(r.thumbnail_size)).Bind(13, r.created_ms);
    s.Bind(14, r.refs).Bind(15, r.unreferenced_since_ms);
  });
}

// Under mu_.
Result<MediaRecord> SqliteMediaStore::GetOne(const char* sql, const std::string& tenant,
                                             const std::string& id) {
  auto stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, id);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no media " + id + " of tenant " + tenant);
  return RecordOf(**stmt);
}

Result<MediaRecord> SqliteMediaStore::Get(const std::string& tenant, const std::string& media_id) {
  std::lock_guard lock(mu_);
  return GetOne(kGet, tenant, media_id);
}

Result<MediaRecord> SqliteMediaStore::FindByHash(const std::string& tenant,
                                                 const std::string& sha256) {
  std::lock_guard lock(mu_);
  return GetOne(kByHash, tenant, sha256);
}

Status SqliteMediaStore::Touch(const std::string& tenant, const std::string& media_id,
                               int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto found = GetOne(kGet, tenant, media_id);
  if (!found.ok()) return found.status();
  return RunOne(kTouch,
                [&](sqlite::Stmt& s) { s.Bind(1, now_ms).Bind(2, tenant).Bind(3, media_id); });
}

Status SqliteMediaStore::AddRef(const std::string& tenant, const std::string& media_id,
                                const std::string& conversation_id, int64_t seq) {
  std::lock_guard lock(mu_);
  return db_->InTransaction([&]() -> Status {
    auto exists = db_->Prepare(kExists);
    if (!exists.ok()) return exists.status();
    (*exists)->Bind(1, tenant).Bind(2, media_id);
    auto row = (*exists)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    FLARE_RETURN_IF_ERROR(RunOne(kInsertRef, [&](sqlite::Stmt& s) {
      s.Bind(1, tenant).Bind(2, conversation_id).Bind(3, seq).Bind(4, media_id);
    }));
    if (sqlite3_changes(db_->handle()) == 0) return Status::Ok();  // counted before
    return RunOne(kCountRef, [&](sqlite::Stmt& s) { s.Bind(1, tenant).Bind(2, media_id); });
  });
}

Status SqliteMediaStore::ReleaseMessage(const std::string& tenant,
                                        const std::string& conversation_id, int64_t seq,
                                        int64_t now_ms) {
  std::lock_guard lock(mu_);
  return db_->InTransaction([&]() -> Status {
    FLARE_RETURN_IF_ERROR(RunOne(kRelease, [&](sqlite::Stmt& s) {
      s.Bind(1, now_ms).Bind(2, tenant).Bind(3, tenant).Bind(4, conversation_id).Bind(5, seq);
    }));
    return RunOne(kDeleteRefs, [&](sqlite::Stmt& s) {
      s.Bind(1, tenant).Bind(2, conversation_id).Bind(3, seq);
    });
  });
}

Result<std::vector<MediaRecord>> SqliteMediaStore::ListOrphans(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kOrphans);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, cutoff_ms).Bind(2, static_cast<int64_t>(limit));
  std::vector<MediaRecord> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(RecordOf(**stmt));
  }
}

Result<bool> SqliteMediaStore::DeleteIfOrphan(const std::string& tenant,
                                              const std::string& media_id, int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  FLARE_RETURN_IF_ERROR(RunOne(kDeleteOrphan, [&](sqlite::Stmt& s) {
    s.Bind(1, tenant).Bind(2, media_id).Bind(3, cutoff_ms);
  }));
  return sqlite3_changes(db_->handle()) > 0;
}

Status SqliteMediaStore::InsertUpload(const UploadRecord& u) {
  std::lock_guard lock(mu_);
  return RunOne(kInsertUpload, [&](sqlite::Stmt& s) {
    s.Bind(1, u.tenant).Bind(2, u.upload_id).Bind(3, u.owner).Bind(4, u.media_id);
    s.Bind(5, u.object_key).Bind(6, u.store_upload_id).Bind(7, u.created_ms);
  });
}

Result<UploadRecord> SqliteMediaStore::GetUpload(const std::string& tenant,
                                                 const std::string& upload_id) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kGetUpload);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, upload_id);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no upload " + upload_id + " of tenant " + tenant);
  UploadRecord upload = UploadOf(**stmt);
  stmt->reset();  // the cached statement goes back before the next one
  auto parts = db_->Prepare(kGetParts);
  if (!parts.ok()) return parts.status();
  (*parts)->Bind(1, tenant).Bind(2, upload_id);
  for (;;) {
    auto part = (*parts)->Step();
    if (!part.ok()) return part.status();
    if (!*part) return upload;
    upload.parts[static_cast<int>((*parts)->Int(0))] = static_cast<uint64_t>((*parts)->Int(1));
  }
}

Status SqliteMediaStore::PutUploadPart(const std::string& tenant, const std::string& upload_id,
                                       int part_number, uint64_t size) {
  std::lock_guard lock(mu_);
  return db_->InTransaction([&]() -> Status {
    auto stmt = db_->Prepare(kGetUpload);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, tenant).Bind(2, upload_id);
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no upload " + upload_id + " of tenant " + tenant);
    stmt->reset();
    return RunOne(kPutPart, [&](sqlite::Stmt& s) {
      s.Bind(1, tenant).Bind(2, upload_id).Bind(3, int64_t{part_number}).Bind(4, Signed(size));
    });
  });
}

Status SqliteMediaStore::DeleteUpload(const std::string& tenant, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  return db_->InTransaction([&]() -> Status {
    FLARE_RETURN_IF_ERROR(
        RunOne(kDeleteParts, [&](sqlite::Stmt& s) { s.Bind(1, tenant).Bind(2, upload_id); }));
    return RunOne(kDeleteUpload, [&](sqlite::Stmt& s) { s.Bind(1, tenant).Bind(2, upload_id); });
  });
}

Result<std::vector<UploadRecord>> SqliteMediaStore::ListUploadsBefore(int64_t cutoff_ms,
                                                                      size_t limit) {
  std::lock_guard lock(mu_);
  auto stmt = db_->Prepare(kOldUploads);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, cutoff_ms).Bind(2, static_cast<int64_t>(limit));
  std::vector<UploadRecord> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(UploadOf(**stmt));
  }
}

}  // namespace flare
