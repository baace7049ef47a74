// MediaStore in SQLite: its own database file (<data_dir>/media.db), so
// uploads never wait for the message writer's lock. One connection behind
// a mutex; statements that must see each other's effect run in one
// BEGIN IMMEDIATE transaction.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "ports/media_store.h"

namespace flare {

namespace sqlite {
class Db;
class Stmt;
}  // namespace sqlite

class SqliteMediaStore final : public MediaStore {
 public:
  static Result<std::unique_ptr<SqliteMediaStore>> Open(const std::string& path);
  ~SqliteMediaStore() override;

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
  explicit SqliteMediaStore(std::unique_ptr<sqlite::Db> db);
  Result<MediaRecord> GetOne(const char* sql, const std::string& tenant, const std::string& id);
  Status RunOne(const char* sql, const std::function<void(sqlite::Stmt&)>& bind);

  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
