#include "adapters/memory/memory_media_store.h"

#include <algorithm>

namespace flare {

Status MemoryMediaStore::Insert(const MediaRecord& record) {
  std::lock_guard lock(mu_);
  Key key{record.tenant, record.media_id};
  Key hash{record.tenant, record.sha256};
  if (media_.count(key) || by_hash_.count(hash)) {
    return {Code::kAlreadyExists, "media " + record.media_id + " or its content exists"};
  }
  media_[key] = record;
  by_hash_[hash] = record.media_id;
  return Status::Ok();
}

Result<MediaRecord> MemoryMediaStore::Get(const std::string& tenant, const std::string& media_id) {
  std::lock_guard lock(mu_);
  auto it = media_.find({tenant, media_id});
  if (it == media_.end()) return NotFound("no media " + media_id);
  return it->second;
}

Result<MediaRecord> MemoryMediaStore::FindByHash(const std::string& tenant,
                                                 const std::string& sha256) {
  std::lock_guard lock(mu_);
  auto it = by_hash_.find({tenant, sha256});
  if (it == by_hash_.end()) return NotFound("no media with sha256 " + sha256);
  return media_.at({tenant, it->second});
}

Status MemoryMediaStore::Touch(const std::string& tenant, const std::string& media_id,
                               int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = media_.find({tenant, media_id});
  if (it == media_.end()) return NotFound("no media " + media_id);
  if (it->second.refs == 0) it->second.unreferenced_since_ms = now_ms;
  return Status::Ok();
}

Status MemoryMediaStore::AddRef(const std::string& tenant, const std::string& media_id,
                                const std::string& conversation_id, int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = media_.find({tenant, media_id});
  if (it == media_.end()) return Status::Ok();
  if (refs_.insert({tenant, conversation_id, seq, media_id}).second) ++it->second.refs;
  return Status::Ok();
}

Status MemoryMediaStore::ReleaseMessage(const std::string& tenant,
                                        const std::string& conversation_id, int64_t seq,
                                        int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = refs_.lower_bound({tenant, conversation_id, seq, std::string()});
  while (it != refs_.end() && std::get<0>(*it) == tenant && std::get<1>(*it) == conversation_id &&
         std::get<2>(*it) == seq) {
    auto media = media_.find({tenant, std::get<3>(*it)});
    if (media != media_.end() && --media->second.refs == 0) {
      media->second.unreferenced_since_ms = now_ms;
    }
    it = refs_.erase(it);
  }
  return Status::Ok();
}

Result<std::vector<MediaRecord>> MemoryMediaStore::ListOrphans(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<MediaRecord> out;
  for (const auto& [key, record] : media_) {
    if (record.refs == 0 && record.unreferenced_since_ms <= cutoff_ms) out.push_back(record);
  }
  std::sort(out.begin(), out.end(), [](const MediaRecord& a, const MediaRecord& b) {
    return a.unreferenced_since_ms < b.unreferenced_since_ms;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<bool> MemoryMediaStore::DeleteIfOrphan(const std::string& tenant,
                                              const std::string& media_id, int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  auto it = media_.find({tenant, media_id});
  if (it == media_.end() || it->second.refs != 0 || it->second.unreferenced_since_ms > cutoff_ms) {
    return false;
  }
  by_hash_.erase({tenant, it->second.sha256});
  media_.erase(it);
  return true;
}

Status MemoryMediaStore::InsertUpload(const UploadRecord& upload) {
  std::lock_guard lock(mu_);
  if (!uploads_.emplace(Key{upload.tenant, upload.upload_id}, upload).second) {
    return {Code::kAlreadyExists, "upload " + upload.upload_id + " exists"};
  }
  return Status::Ok();
}

Result<UploadRecord> MemoryMediaStore::GetUpload(const std::string& tenant,
                                                 const std::string& upload_id) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find({tenant, upload_id});
  if (it == uploads_.end()) return NotFound("no upload " + upload_id);
  return it->second;
}

Status MemoryMediaStore::PutUploadPart(const std::string& tenant, const std::string& upload_id,
                                       int part_number, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find({tenant, upload_id});
  if (it == uploads_.end()) return NotFound("no upload " + upload_id);
  it->second.parts[part_number] = size;
  return Status::Ok();
}

Status MemoryMediaStore::DeleteUpload(const std::string& tenant, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  uploads_.erase({tenant, upload_id});
  return Status::Ok();
}

Result<std::vector<UploadRecord>> MemoryMediaStore::ListUploadsBefore(int64_t cutoff_ms,
                                                                      size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<UploadRecord> out;
  for (const auto& [key, upload] : uploads_) {
    if (upload.created_ms > cutoff_ms) continue;
    out.push_back(upload);
    out.back().parts.clear();
  }
  std::sort(out.begin(), out.end(), [](const UploadRecord& a, const UploadRecord& b) {
    return a.created_ms < b.created_ms;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace flare
