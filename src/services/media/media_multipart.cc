// MediaService: resumable multipart uploads. The parts go straight to the
// ObjectStore's multipart upload of the media's object; the MediaStore
// keeps the upload and its parts' sizes, so any process can take the next
// part or complete it, and a restart loses nothing.
#include <spdlog/spdlog.h>

#include "services/media/media_crypto.h"
#include "services/media/media_service.h"
#include "services/media/mime_sniff.h"

namespace flare {
namespace {

// Multipart objects are read back in pieces of this size to be hashed.
constexpr uint64_t kHashChunkBytes = 8 << 20;

}  // namespace

Result<std::string> MediaService::BeginUpload(const std::string& tenant, const std::string& owner) {
  UploadRecord upload;
  upload.tenant = tenant;
  upload.owner = owner;
  upload.upload_id = NewId();
  upload.media_id = NewId();
  upload.object_key = ObjectKeyFor(tenant, upload.media_id);
  upload.created_ms = clock_.NowMs();
  auto started = objects_.StartMultipart(upload.object_key);
  if (!started.ok()) return started.status();
  upload.store_upload_id = std::move(started).value();
  if (Status st = store_.InsertUpload(upload); !st.ok()) {
    (void)objects_.AbortMultipart(upload.object_key, upload.store_upload_id);
    return st;
  }
  return upload.upload_id;
}

Status MediaService::PutPart(const std::string& tenant, const std::string& upload_id,
                             int part_number, std::string_view bytes) {
  FLARE_RETURN_IF_ERROR(CheckPartNumber(part_number));
  if (bytes.empty()) return InvalidArgument("a part needs at least one byte");
  if (static_cast<int64_t>(bytes.size()) > options_.max_part_bytes) {
    return Status(Code::kResourceExhausted,
                  "part of " + std::to_string(bytes.size()) + " bytes is above " +
                      std::to_string(options_.max_part_bytes) + " (media.max_part_bytes)")
        .WithDetail(kMediaTooLarge);
  }
  auto upload = store_.GetUpload(tenant, upload_id);
  if (!upload.ok()) return upload.status();
  auto limits = limits_.For(tenant);
  if (!limits.ok()) return limits.status();
  uint64_t total = bytes.size();
  for (const auto& [number, size] : upload->parts) {
    if (number != part_number) total += size;  // a part sent again replaces itself
  }
  if (static_cast<int64_t>(total) > limits->max_bytes) {
    return Status(Code::kResourceExhausted, "upload " + upload_id + " would hold " +
                                                std::to_string(total) + " bytes, above tenant " +
                                                tenant + "'s limit of " +
                                                std::to_string(limits->max_bytes))
        .WithDetail(kMediaTooLarge);
  }
  FLARE_RETURN_IF_ERROR(
      objects_.PutPart(upload->object_key, upload->store_upload_id, part_number, bytes));
  return store_.PutUploadPart(tenant, upload_id, part_number, bytes.size());
}

// Parts 1..n all there, and all but the last at least min_part_bytes.
Status MediaService::CheckParts(const UploadRecord& upload, int& part_count) const {
  if (upload.parts.empty()) return InvalidArgument("upload " + upload.upload_id + " has no parts");
  part_count = upload.parts.rbegin()->first;
  for (int n = 1; n <= part_count; ++n) {
    auto it = upload.parts.find(n);
    if (it == upload.parts.end()) {
      return InvalidArgument("upload " + upload.upload_id + " lacks part " + std::to_string(n));
    }
    if (n < part_count && it->second < options_.min_part_bytes) {
      return InvalidArgument("part " + std::to_string(n) + " of upload " + upload.upload_id +
                             " has " + std::to_string(it->second) +
                             " bytes; every part but the last needs at least " +
                             std::to_string(options_.min_part_bytes));
    }
  }
  return Status::Ok();
}

Result<MediaInfo> MediaService::CompleteUpload(const std::string& tenant,
                                               const std::string& upload_id) {
  auto upload = store_.GetUpload(tenant, upload_id);
  if (!upload.ok()) return upload.status();
  int part_count = 0;
  FLARE_RETURN_IF_ERROR(CheckParts(*upload, part_count));
  Status joined =
      objects_.CompleteMultipart(upload->object_key, upload->store_upload_id, part_count);
  // A Complete retried after the object store finished it (and this
  // service did not): the object is there, go on.
  if (joined.code() == Code::kNotFound && objects_.Head(upload->object_key).ok()) {
    joined = Status::Ok();
  }
  if (!joined.ok()) return joined;
  auto info = FinishUpload(*upload);
  // A refused upload is over too (its object was deleted): only a store
  // failure leaves it to be completed again.
  if (info.ok() || info.status().code() == Code::kInvalidArgument ||
      info.status().code() == Code::kResourceExhausted) {
    FLARE_RETURN_IF_ERROR(store_.DeleteUpload(tenant, upload_id));
  }
  return info;
}

// The joined object becomes a media: checked, hashed, deduplicated.
Result<MediaInfo> MediaService::FinishUpload(const UploadRecord& upload) {
  auto head = objects_.Head(upload.object_key);
  if (!head.ok()) return head.status();
  auto first = objects_.Get(upload.object_key, ByteRange{0, kSniffBytes});
  if (!first.ok()) return first.status();
  auto limits = limits_.For(upload.tenant);
  if (!limits.ok()) return limits.status();
  MediaRecord record;
  record.tenant = upload.tenant;
  record.media_id = upload.media_id;
  record.owner = upload.owner;
  record.mime_type = SniffMimeType(*first);
  record.size = head->size;
  record.object_key = upload.object_key;
  record.created_ms = record.unreferenced_since_ms = clock_.NowMs();
  Status allowed = CheckType(upload.tenant, record.mime_type, *limits);
  if (allowed.ok() && static_cast<int64_t>(record.size) > limits->max_bytes) {
    allowed = Status(Code::kResourceExhausted, "media above tenant's limit of " +
                                                   std::to_string(limits->max_bytes) + " bytes")
                  .WithDetail(kMediaTooLarge);
  }
  if (!allowed.ok()) {
    DeleteObjects(record);
    return allowed;
  }
  auto sha256 = HashObject(upload.object_key, record.size);
  if (!sha256.ok()) return sha256.status();
  record.sha256 = *sha256;
  auto existing = store_.FindByHash(upload.tenant, record.sha256);
  if (existing.ok()) {
    DeleteObjects(record);
    return Deduplicated(*existing);
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  if (IsImageType(record.mime_type) && record.size <= options_.max_thumbnail_source_bytes) {
    auto whole = objects_.Get(record.object_key, ByteRange{});
    if (!whole.ok()) return whole.status();
    AddImageFacts(record, *whole);
  }
  Status inserted = store_.Insert(record);
  if (inserted.ok()) return MediaInfoOf(record);
  DeleteObjects(record);
  if (inserted.code() != Code::kAlreadyExists) return inserted;
  existing = store_.FindByHash(upload.tenant, record.sha256);
  if (!existing.ok()) return existing.status();
  return Deduplicated(*existing);
}

Result<std::string> MediaService::HashObject(const std::string& key, uint64_t size) {
  media::Sha256 hash;
  for (uint64_t offset = 0; offset < size; offset += kHashChunkBytes) {
    auto chunk = objects_.Get(key, ByteRange{offset, kHashChunkBytes});
    if (!chunk.ok()) return chunk.status();
    hash.Update(*chunk);
  }
  return hash.HexDigest();
}

Status MediaService::AbortUpload(const std::string& tenant, const std::string& upload_id) {
  auto upload = store_.GetUpload(tenant, upload_id);
  if (!upload.ok()) return upload.status();
  Status aborted = objects_.AbortMultipart(upload->object_key, upload->store_upload_id);
  if (!aborted.ok() && aborted.code() != Code::kNotFound) return aborted;
  return store_.DeleteUpload(tenant, upload_id);
}

}  // namespace flare
