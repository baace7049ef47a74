// MediaStore in memory: one process's media records, for tests and
// storage.backend = memory.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "ports/media_store.h"

namespace flare {

class MemoryMediaStore final : public MediaStore {
 public:
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
  using Key = std::pair<std::string, std::string>;  // tenant, id
  // tenant, conversation, seq, media id
  using Ref = std::tuple<std::string, std::string, int64_t, std::string>;

  std::mutex mu_;
  std::map<Key, MediaRecord> media_;
  std::map<Key, std::string> by_hash_;  // (tenant, sha256) -> media id
  std::set<Ref> refs_;
  std::map<Key, UploadRecord> uploads_;
};

}  // namespace flare
