#include "adapters/memory/memory_object_store.h"

namespace flare {

Status MemoryObjectStore::Put(const std::string& key, std::string_view data) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::lock_guard lock(mu_);
  objects_[key] = std::string(data);
  return Status::Ok();
}

Result<std::string> MemoryObjectStore::Get(const std::string& key, const ByteRange& range) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("no object '" + key + "'");
  auto span = ResolveRange(key, it->second.size(), range);
  if (!span.ok()) return span.status();
  return it->second.substr(span->first, span->second - span->first);
}

Result<ObjectInfo> MemoryObjectStore::Head(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("no object '" + key + "'");
  return ObjectInfo{key, it->second.size()};
}

Status MemoryObjectStore::Delete(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::lock_guard lock(mu_);
  objects_.erase(key);
  return Status::Ok();
}

Result<ObjectPage> MemoryObjectStore::List(const std::string& prefix, const std::string& after,
                                           size_t limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("list limit must be 1..1000");
  std::lock_guard lock(mu_);
  ObjectPage page;
  auto it = after >= prefix ? objects_.upper_bound(after) : objects_.lower_bound(prefix);
  for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (page.objects.size() == limit) {
      page.next_after = page.objects.back().key;
      break;
    }
    page.objects.push_back({it->first, it->second.size()});
  }
  return page;
}

Result<std::string> MemoryObjectStore::StartMultipart(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::lock_guard lock(mu_);
  std::string id = "upload-" + std::to_string(next_upload_++);
  uploads_[id] = Upload{key, {}};
  return id;
}

MemoryObjectStore::Upload* MemoryObjectStore::FindUpload(const std::string& key,
                                                         const std::string& upload_id) {
  auto it = uploads_.find(upload_id);
  return it == uploads_.end() || it->second.key != key ? nullptr : &it->second;
}

Status MemoryObjectStore::PutPart(const std::string& key, const std::string& upload_id,
                                  int part_number, std::string_view data) {
  FLARE_RETURN_IF_ERROR(CheckPartNumber(part_number));
  std::lock_guard lock(mu_);
  Upload* upload = FindUpload(key, upload_id);
  if (upload == nullptr) return NotFound("no upload '" + upload_id + "' of '" + key + "'");
  upload->parts[part_number] = std::string(data);
  return Status::Ok();
}

Status MemoryObjectStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                            int part_count) {
  FLARE_RETURN_IF_ERROR(CheckPartNumber(part_count));
  std::lock_guard lock(mu_);
  Upload* upload = FindUpload(key, upload_id);
  if (upload == nullptr) return NotFound("no upload '" + upload_id + "' of '" + key + "'");
  std::string joined;
  for (int n = 1; n <= part_count; ++n) {
    auto part = upload->parts.find(n);
    if (part == upload->parts.end()) {
      return InvalidArgument("upload '" + upload_id + "' has no part " + std::to_string(n));
    }
    joined += part->second;
  }
  objects_[key] = std::move(joined);
  uploads_.erase(upload_id);
  return Status::Ok();
}

Status MemoryObjectStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  if (FindUpload(key, upload_id) == nullptr) {
    return NotFound("no upload '" + upload_id + "' of '" + key + "'");
  }
  uploads_.erase(upload_id);
  return Status::Ok();
}

}  // namespace flare
