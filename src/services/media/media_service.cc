#include "services/media/media_service.h"

#include <spdlog/spdlog.h>

#include "services/media/media_crypto.h"
#include "services/media/mime_sniff.h"

namespace flare {
namespace {

Status TooLarge(const std::string& what) {
  return Status(Code::kResourceExhausted, what).WithDetail(kMediaTooLarge);
}

}  // namespace

MediaInfo MediaInfoOf(const MediaRecord& r) {
  MediaInfo info;
  info.media_id = r.media_id;
  info.owner = r.owner;
  info.mime_type = r.mime_type;
  info.sha256 = r.sha256;
  info.size = r.size;
  info.width = r.width;
  info.height = r.height;
  info.has_thumbnail = !r.thumbnail_key.empty();
  info.thumbnail_mime = r.thumbnail_mime;
  info.thumbnail_size = r.thumbnail_size;
  info.created_ms = r.created_ms;
  info.references = r.refs;
  return info;
}

namespace {

// A tenant id as one object key segment: [A-Za-z0-9.-] kept, anything
// else (including '_', the escape) as _XX; the "t" in front keeps "." and
// ".." from being whole segments.
std::string TenantSegment(const std::string& tenant) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "t";
  for (unsigned char c : tenant) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '_';
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string MediaIdOfUrl(std::string_view url) {
  if (!url.starts_with(kMediaUrlPrefix)) return {};
  std::string_view id = url.substr(kMediaUrlPrefix.size());
  id = id.substr(0, id.find('?'));
  return IsValidId(id) ? std::string(id) : std::string();
}

MediaService::MediaService(MediaServiceDeps deps, MediaServiceOptions options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      objects_(*deps_.objects),
      store_(*deps_.store),
      clock_(*deps_.clock),
      limits_(*deps_.settings, options_.max_bytes, options_.allowed_types),
      presigner_(deps_.jwt_secret, clock_, options_.presign_max_ttl_s) {}

MediaService::~MediaService() { Stop(); }

std::string MediaService::NewId() {
  std::lock_guard lock(random_mu_);
  return MakeUlid(clock_.NowMs(), random_);
}

std::string MediaService::ObjectKeyFor(const std::string& tenant,
                                       const std::string& media_id) const {
  return "media/" + TenantSegment(tenant) + "/" + media_id;
}

Status MediaService::CheckType(const std::string& tenant, const std::string& mime,
                               const MediaLimits& limits) {
  if (MimeAllowed(mime, limits.allowed_types)) return Status::Ok();
  return InvalidArgument("media of type " + mime + " are not allowed for tenant " + tenant)
      .WithDetail(kMediaTypeNotAllowed);
}

Result<MediaInfo> MediaService::Upload(const std::string& tenant, const std::string& owner,
                                       std::string_view bytes) {
  if (bytes.empty()) return InvalidArgument("an upload needs at least one byte");
  if (static_cast<int64_t>(bytes.size()) > options_.max_single_upload_bytes) {
    return TooLarge("upload of " + std::to_string(bytes.size()) + " bytes is above " +
                    std::to_string(options_.max_single_upload_bytes) +
                    " (media.max_single_upload_bytes): use a multipart upload");
  }
  auto limits = limits_.For(tenant);
  if (!limits.ok()) return limits.status();
  if (static_cast<int64_t>(bytes.size()) > limits->max_bytes) {
    return TooLarge("media of " + std::to_string(bytes.size()) + " bytes is above tenant " +
                    tenant + "'s limit of " + std::to_string(limits->max_bytes));
  }
  FLARE_RETURN_IF_ERROR(CheckType(tenant, SniffMimeType(bytes), *limits));
  return Store(tenant, owner, bytes, media::Sha256Hex(bytes));
}

Result<MediaInfo> MediaService::Deduplicated(const MediaRecord& existing) {
  // Whoever uploaded it again means to refer to it: its grace starts over.
  FLARE_RETURN_IF_ERROR(store_.Touch(existing.tenant, existing.media_id, clock_.NowMs()));
  return MediaInfoOf(existing);
}

// New bytes of a tenant (already checked): stored unless the tenant has them.
Result<MediaInfo> MediaService::Store(const std::string& tenant, const std::string& owner,
                                      std::string_view bytes, const std::string& sha256) {
  auto existing = store_.FindByHash(tenant, sha256);
  if (existing.ok()) {
    auto info = Deduplicated(*existing);
    // Gone between the two calls (orphan cleanup): stored anew below.
    if (info.ok() || info.status().code() != Code::kNotFound) return info;
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }
  MediaRecord record;
  record.tenant = tenant;
  record.media_id = NewId();
  record.owner = owner;
  record.sha256 = sha256;
  record.mime_type = SniffMimeType(bytes);
  record.size = bytes.size();
  record.object_key = ObjectKeyFor(tenant, record.media_id);
  record.created_ms = record.unreferenced_since_ms = clock_.NowMs();
  FLARE_RETURN_IF_ERROR(objects_.Put(record.object_key, bytes));
  AddImageFacts(record, bytes);
  Status inserted = store_.Insert(record);
  if (inserted.ok()) return MediaInfoOf(record);
  DeleteObjects(record);
  if (inserted.code() != Code::kAlreadyExists) return inserted;
  // The same bytes were stored at the same time by another upload.
  existing = store_.FindByHash(tenant, sha256);
  if (!existing.ok()) return existing.status();
  return Deduplicated(*existing);
}

// Dimensions and a thumbnail, when the bytes are an image the processor
// reads; a corrupt image is stored without them.
void MediaService::AddImageFacts(MediaRecord& record, std::string_view bytes) {
  if (!deps_.images || !IsImageType(record.mime_type)) return;
  auto size = deps_.images->Measure(bytes);
  if (!size.ok()) {
    spdlog::info("media {}: no image facts: {}", record.media_id, size.status().message());
    return;
  }
  record.width = size->width;
  record.height = size->height;
  auto thumb = deps_.images->MakeThumbnail(bytes, options_.thumbnail_px);
  if (!thumb.ok()) {
    spdlog::info("media {}: no thumbnail: {}", record.media_id, thumb.status().message());
    return;
  }
  std::string key = record.object_key + ".thumb";
  if (Status st = objects_.Put(key, thumb->bytes); !st.ok()) {
    spdlog::warn("media {}: thumbnail not stored: {}", record.media_id, st.ToString());
    return;
  }
  record.thumbnail_key = key;
  record.thumbnail_mime = thumb->mime_type;
  record.thumbnail_size = thumb->bytes.size();
}

void MediaService::DeleteObjects(const MediaRecord& record) {
  for (const std::string* key : {&record.object_key, &record.thumbnail_key}) {
    if (key->empty()) continue;
    if (Status st = objects_.Delete(*key); !st.ok()) {
      spdlog::warn("media object {} not deleted (left behind): {}", *key, st.ToString());
    }
  }
}

Result<MediaInfo> MediaService::Info(const std::string& tenant, const std::string& media_id) {
  auto record = store_.Get(tenant, media_id);
  if (!record.ok()) return record.status();
  return MediaInfoOf(*record);
}

Result<MediaBytes> MediaService::Read(const std::string& tenant, const std::string& media_id,
                                      std::optional<ByteRange> range, MediaVariant variant) {
  auto record = store_.Get(tenant, media_id);
  if (!record.ok()) return record.status();
  const bool thumb = variant == MediaVariant::kThumbnail;
  if (thumb && record->thumbnail_key.empty()) {
    return NotFound("media " + media_id + " has no thumbnail");
  }
  MediaBytes out;
  out.total_size = thumb ? record->thumbnail_size : record->size;
  out.mime_type = thumb ? record->thumbnail_mime : record->mime_type;
  ByteRange wanted = range.value_or(ByteRange{});
  if (range && range->offset >= out.total_size && out.total_size > 0) {
    return InvalidArgument("range starts at " + std::to_string(range->offset) + ", past the " +
                           std::to_string(out.total_size) + " bytes of media " + media_id)
        .WithDetail(kMediaRangeNotSatisfiable);
  }
  auto bytes = objects_.Get(thumb ? record->thumbnail_key : record->object_key, wanted);
  if (!bytes.ok()) return bytes.status();
  out.bytes = std::move(bytes).value();
  out.offset = wanted.offset;
  return out;
}

Result<PresignedUrl> MediaService::Presign(const std::string& tenant, const std::string& id,
                                           PresignOp op, int64_t ttl_s) {
  if (op == PresignOp::kDownload) {
    auto record = store_.Get(tenant, id);
    if (!record.ok()) return record.status();
  } else {
    auto upload = store_.GetUpload(tenant, id);
    if (!upload.ok()) return upload.status();
  }
  return presigner_.Sign(tenant, op, id, ttl_s);
}

Status MediaService::VerifyPresigned(const std::string& tenant, PresignOp op, const std::string& id,
                                     int64_t expires_s, const std::string& signature) const {
  return presigner_.Verify(tenant, op, id, expires_s, signature);
}

}  // namespace flare
