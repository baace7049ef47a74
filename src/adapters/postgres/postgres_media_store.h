// MediaStore in PostgreSQL: the tables media, media_refs, media_uploads
// and media_upload_parts (schema migration 9), shared by every process of
// a deployment. Each call is one statement (reference counting and
// release are single statements with a data-modifying CTE, so a count and
// its rows never disagree). One connection behind a mutex; a call that
// finds it broken resets it and tries once more.
#pragma once

#include <memory>
#include <mutex>

#include "adapters/postgres/pg_conn.h"
#include "ports/media_store.h"

namespace flare {

class PostgresMediaStore final : public MediaStore {
 public:
  // Connects and applies pending schema migrations (as PostgresStore::Open).
  static Result<std::unique_ptr<PostgresMediaStore>> Open(const std::string& dsn);

  Status Insert(const MediaRecord& record) override;
  Result<MediaRecord> Get(const std::string& tenant, const std::string& media_id) override;
  Result<MediaRecord> FindByHash(const std::string& tenant, const std::string& sha256) override;
  Status Touch(const std::string& tenant, const std::string& media_id, int64_t now_ms) override;
  Status AddRef(const std::string& tenant, const std::string& media_id,
                const std::string& conversation_id, int64_t seq) override;
  Status ReleaseMessage(const std::string& tenant, const std::string& conversation_id, int64_t seq,
                        int64_t now_ms) override;
  Result<std::vector<MediaRecord>> ListOrphans(int64_t cutoff_ms, size_t limit) override;
  Result<bool> DeleteIfOrphan(const std::string& tenant, const std::string& media_id,
                              int64_t cutoff_ms) override;
  Status InsertUpload(const UploadRecord& upload) override;
  Result<UploadRecord> GetUpload(const std::string& tenant, const std::string& upload_id) override;
  Status PutUploadPart(const std::string& tenant, const std::string& upload_id, int part_number,
                       uint64_t size) override;
  Status DeleteUpload(const std::string& tenant, const std::string& upload_id) override;
  Result<std::vector<UploadRecord>> ListUploadsBefore(int64_t cutoff_ms, size_t limit) override;

 private:
  PostgresMediaStore(std::string server, pg::ConnPtr conn)
      : server_(std::move(server)), conn_(std::move(conn)) {}
  // Under mu_.
  Result<pg::ResultPtr> Exec(const std::string& sql, const std::vector<std::string>& params);
  Result<MediaRecord> GetOne(const std::string& sql, const std::string& tenant,
                             const std::string& id);

  const std::string server_;
  std::mutex mu_;
  pg::ConnPtr conn_;
};

}  // namespace flare
