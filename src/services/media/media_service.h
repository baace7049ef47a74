// The media service (issue 11): uploads (single request, or resumable
// multipart), metadata, reads with byte ranges, thumbnails, presigned URLs,
// per-tenant limits, references from messages and orphan cleanup. The
// HTTP layer calls it with an authenticated tenant and user; it knows no
// HTTP. Bytes go to an ObjectStore, metadata to a MediaStore.
//
// Deduplication: a tenant's media are unique by SHA-256 of their bytes.
// Uploading bytes the tenant already has returns the existing media (the
// same media id, its first uploader as owner) and stores nothing new.
//
// Objects: "media/t<tenant>/<media_id>" and, for an image, its thumbnail
// "media/t<tenant>/<media_id>.thumb" (tenant characters outside
// [A-Za-z0-9.-] written as _XX hex, so every tenant id is a safe key).
//
// References: a stored message whose attachment url is
// "/v1/media/<media_id>" refers to the media (MediaReferenceListener
// queues it; the service's thread records it); a recall releases what the
// recalled message referred to. Media nothing refers to for
// media.orphan_grace_s (since upload, or since their last reference went)
// are deleted, objects and metadata, by RunCleanup, which the thread runs
// every media.cleanup_interval_s on the Clock. Multipart uploads left
// unfinished for the same grace are aborted.
//
// Errors carry a detail() the HTTP layer can answer with directly:
// kMediaTooLarge (413), kMediaTypeNotAllowed (415) and
// kMediaRangeNotSatisfiable (416).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "ports/image_processor.h"
#include "ports/media_store.h"
#include "ports/object_store.h"
#include "ports/settings_store.h"
#include "services/media/media_limits.h"
#include "services/media/media_presign.h"

namespace flare {

inline constexpr int kMediaTooLarge = 413;
inline constexpr int kMediaTypeNotAllowed = 415;
inline constexpr int kMediaRangeNotSatisfiable = 416;

// "/v1/media/" + media id: what an attachment's url holds.
inline constexpr std::string_view kMediaUrlPrefix = "/v1/media/";

struct MediaInfo {
  std::string media_id;
  std::string owner;
  std::string mime_type;
  std::string sha256;
  uint64_t size = 0;
  int32_t width = 0;  // images whose header could be read; else 0
  int32_t height = 0;
  bool has_thumbnail = false;
  std::string thumbnail_mime;
  uint64_t thumbnail_size = 0;
  int64_t created_ms = 0;
  int64_t references = 0;  // stored messages referring to it
  std::string url() const { return std::string(kMediaUrlPrefix) + media_id; }
};

enum class MediaVariant { kOriginal, kThumbnail };

struct MediaBytes {
  std::string bytes;
  uint64_t offset = 0;      // of bytes within the object
  uint64_t total_size = 0;  // of the whole object (for Content-Range)
  std::string mime_type;
};

struct MediaServiceOptions {
  // Tenant defaults (media.max_bytes, media.allowed_types).
  int64_t max_bytes = 100 << 20;
  std::vector<std::string> allowed_types = {"image/*", "video/*", "audio/*", "application/pdf",
                                            "text/plain"};
  int64_t max_single_upload_bytes = 32 << 20;
  int64_t max_part_bytes = 16 << 20;
  // Every part but the last must have at least this many bytes (S3's
  // 5 MiB; the filesystem and memory stores need none).
  uint64_t min_part_bytes = 0;
  int thumbnail_px = 256;
  // Images larger than this get no thumbnail (the image is read whole).
  uint64_t max_thumbnail_source_bytes = 32 << 20;
  int64_t presign_max_ttl_s = 86'400;
  int64_t orphan_grace_ms = 86'400'000;
  int64_t cleanup_interval_ms = 3'600'000;
  // Off where no writer counts references (the media role, until the
  // storage-writer role does): every media would look orphaned.
  bool delete_orphans = true;
  size_t max_queued_reference_changes = 100'000;  // beyond: dropped, logged
};

struct MediaServiceDeps {
  std::shared_ptr<ObjectStore> objects;
  std::shared_ptr<MediaStore> store;
  std::shared_ptr<SettingsStore> settings;  // the tenants' limits
  std::shared_ptr<ImageProcessor> images;   // null: no dimensions, no thumbnails
  const Clock* clock = &SystemClock::Instance();
  std::string jwt_secret;  // presigned URLs' key is derived from it
};

// A change a stored message makes to references.
struct MediaReferenceChange {
  enum class Kind { kAdd, kReleaseMessage };
  Kind kind = Kind::kAdd;
  std::string tenant;
  std::string media_id;  // kAdd only
  std::string conversation_id;
  int64_t seq = 0;  // the referring message (kAdd) or the recalled one
};

struct MediaCleanupReport {
  int media_deleted = 0;
  int uploads_aborted = 0;
};

class MediaService {
 public:
  MediaService(MediaServiceDeps deps, MediaServiceOptions options);
  ~MediaService();  // stops the thread
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  // One request. Empty bytes are kInvalidArgument; more than
  // max_single_upload_bytes or the tenant's max_bytes kResourceExhausted
  // (kMediaTooLarge); a sniffed type the tenant does not allow
  // kInvalidArgument (kMediaTypeNotAllowed).
  Result<MediaInfo> Upload(const std::string& tenant, const std::string& owner,
                           std::string_view bytes);

  // Resumable multipart upload: parts numbered from 1, sent in any order
  // and again (the last one wins), each at most max_part_bytes, their sum
  // at most the tenant's max_bytes. Complete joins parts 1..n (kInvalidArgument
  // naming a missing part, or a part but the last below min_part_bytes),
  // checks the type and deduplicates as Upload does. Unknown (or finished)
  // upload ids are kNotFound.
  Result<std::string> BeginUpload(const std::string& tenant, const std::string& owner);
  Status PutPart(const std::string& tenant, const std::string& upload_id, int part_number,
                 std::string_view bytes);
  Result<MediaInfo> CompleteUpload(const std::string& tenant, const std::string& upload_id);
  Status AbortUpload(const std::string& tenant, const std::string& upload_id);

  // kNotFound when the tenant has no such media.
  Result<MediaInfo> Info(const std::string& tenant, const std::string& media_id);
  // The whole variant, or `range` of it (a range starting at or past the
  // end: kInvalidArgument with kMediaRangeNotSatisfiable; one running past
  // the end is cut). A media without a thumbnail: kNotFound for kThumbnail.
  Result<MediaBytes> Read(const std::string& tenant, const std::string& media_id,
                          std::optional<ByteRange> range = std::nullopt,
                          MediaVariant variant = MediaVariant::kOriginal);

  // Presigned URLs for a media (kDownload) or a multipart upload
  // (kUpload); kNotFound when the tenant has no such media or upload.
  Result<PresignedUrl> Presign(const std::string& tenant, const std::string& id, PresignOp op,
                               int64_t ttl_s);
  Status VerifyPresigned(const std::string& tenant, PresignOp op, const std::string& id,
                         int64_t expires_s, const std::string& signature) const;

  const MediaServiceOptions& options() const { return options_; }

  // Per-tenant limits (the admin API): see media_limits.h.
  Result<MediaLimits> LimitsFor(const std::string& tenant) { return limits_.For(tenant); }
  Result<TenantMediaLimits> TenantLimits(const std::string& tenant) {
    return limits_.OverridesOf(tenant);
  }
  Status SetTenantLimits(const std::string& tenant, const TenantMediaLimits& limits) {
    return limits_.Set(tenant, limits);
  }

  // References: queued by the stored-message listener (never blocks on
  // the store), recorded by the thread or by ApplyReferenceChanges.
  void QueueReferenceChanges(std::vector<MediaReferenceChange> changes);
  // Records what is queued; on a store error the rest stays queued for
  // the next round. Returns how many were recorded.
  size_t ApplyReferenceChanges();
  size_t queued_reference_changes() const;

  // Deletes orphans past their grace and aborts stale uploads (now).
  Result<MediaCleanupReport> RunCleanup();

  // A thread that records queued references as they come and runs
  // RunCleanup every cleanup_interval_ms of the Clock. Stop is idempotent
  // and records what is still queued.
  void Start();
  void Stop();

 private:
  Result<MediaInfo> Store(const std::string& tenant, const std::string& owner,
                          std::string_view bytes, const std::string& sha256);
  Result<MediaInfo> Deduplicated(const MediaRecord& existing);
  Status CheckType(const std::string& tenant, const std::string& mime, const MediaLimits& limits);
  void AddImageFacts(MediaRecord& record, std::string_view bytes);
  Result<MediaInfo> FinishUpload(const UploadRecord& upload);
  Result<std::string> HashObject(const std::string& key, uint64_t size);
  Status CheckParts(const UploadRecord& upload, int& part_count) const;
  std::string NewId();
  std::string ObjectKeyFor(const std::string& tenant, const std::string& media_id) const;
  void DeleteObjects(const MediaRecord& record);
  Result<int> DeleteOrphans(int64_t cutoff_ms);
  Result<int> AbortStaleUploads(int64_t cutoff_ms);
  void Run();

  MediaServiceDeps deps_;
  MediaServiceOptions options_;
  ObjectStore& objects_;
  MediaStore& store_;
  const Clock& clock_;
  MediaLimitsBook limits_;
  MediaPresigner presigner_;

  std::mutex random_mu_;
  SystemRandom random_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<MediaReferenceChange> queue_;
  bool stopping_ = false;
  std::mutex apply_mu_;  // one applier at a time (the thread or a test)
  std::thread thread_;
};

MediaInfo MediaInfoOf(const MediaRecord& record);

// The media a stored message's attachment url names ("/v1/media/<id>",
// an optional query string ignored), or empty.
std::string MediaIdOfUrl(std::string_view url);

}  // namespace flare
