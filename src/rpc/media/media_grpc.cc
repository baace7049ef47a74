#include "rpc/media/media_grpc.h"

#include <algorithm>

#include "media/v1/media.grpc.pb.h"
#include "rpc/common/call_metadata.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace mpb = ::media::v1;

void ToProto(const MediaInfo& info, mpb::MediaInfo& out) {
  out.set_media_id(info.media_id);
  out.set_owner(info.owner);
  out.set_mime_type(info.mime_type);
  out.set_sha256(info.sha256);
  out.set_size(info.size);
  out.set_width(info.width);
  out.set_height(info.height);
  out.set_has_thumbnail(info.has_thumbnail);
  out.set_thumbnail_mime(info.thumbnail_mime);
  out.set_thumbnail_size(info.thumbnail_size);
  out.set_created_ms(info.created_ms);
  out.set_references(info.references);
  out.set_url(info.url());
}

PresignOp OpOf(mpb::PresignOp op) {
  return op == mpb::PRESIGN_OP_UPLOAD ? PresignOp::kUpload : PresignOp::kDownload;
}

Status TooLarge(size_t limit) {
  return Status(Code::kResourceExhausted, "more than " + std::to_string(limit) + " bytes sent")
      .WithDetail(kMediaTooLarge);
}

class MediaGrpcService final : public mpb::MediaService::Service {
 public:
  explicit MediaGrpcService(MediaService& media) : media_(media) {}

  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<mpb::UploadChunk>* reader,
                      mpb::MediaInfo* response) override {
    return Serve(*context, "Upload", [&](const Principal& who) -> Status {
      const size_t limit = static_cast<size_t>(media_.options().max_single_upload_bytes);
      std::string bytes;
      mpb::UploadChunk chunk;
      while (reader->Read(&chunk)) {
        if (bytes.size() + chunk.data().size() > limit) return TooLarge(limit);
        bytes += chunk.data();
      }
      auto info = media_.Upload(who.tenant, who.user_id, bytes);
      if (!info.ok()) return info.status();
      ToProto(*info, *response);
      return Status::Ok();
    });
  }

  grpc::Status BeginUpload(grpc::ServerContext* context, const mpb::BeginUploadRequest*,
                           mpb::BeginUploadResponse* response) override {
    return Serve(*context, "BeginUpload", [&](const Principal& who) -> Status {
      auto id = media_.BeginUpload(who.tenant, who.user_id);
      if (!id.ok()) return id.status();
      response->set_upload_id(*id);
      return Status::Ok();
    });
  }

  grpc::Status PutPart(grpc::ServerContext* context, grpc::ServerReader<mpb::PartChunk>* reader,
                       mpb::PutPartResponse*) override {
    return Serve(*context, "PutPart", [&](const Principal& who) -> Status {
      const size_t limit = static_cast<size_t>(media_.options().max_part_bytes);
      std::string upload_id, bytes;
      int part_number = 0;
      mpb::PartChunk chunk;
      for (bool first = true; reader->Read(&chunk); first = false) {
        if (first) {
          upload_id = chunk.upload_id();
          part_number = chunk.part_number();
        }
        if (bytes.size() + chunk.data().size() > limit) return TooLarge(limit);
        bytes += chunk.data();
      }
      return media_.PutPart(who.tenant, upload_id, part_number, bytes);
    });
  }

  grpc::Status CompleteUpload(grpc::ServerContext* context, const mpb::UploadRef* request,
                              mpb::MediaInfo* response) override {
    return Serve(*context, "CompleteUpload", [&](const Principal& who) -> Status {
      auto info = media_.CompleteUpload(who.tenant, request->upload_id());
      if (!info.ok()) return info.status();
      ToProto(*info, *response);
      return Status::Ok();
    });
  }

  grpc::Status AbortUpload(grpc::ServerContext* context, const mpb::UploadRef* request,
                           mpb::AbortUploadResponse*) override {
    return Serve(*context, "AbortUpload", [&](const Principal& who) {
      return media_.AbortUpload(who.tenant, request->upload_id());
    });
  }

  grpc::Status GetInfo(grpc::ServerContext* context, const mpb::MediaRef* request,
                       mpb::MediaInfo* response) override {
    return Serve(*context, "GetInfo", [&](const Principal& who) -> Status {
      auto info = media_.Info(who.tenant, request->media_id());
      if (!info.ok()) return info.status();
      ToProto(*info, *response);
      return Status::Ok();
    });
  }

  // Read in ranges of kMediaChunkBytes, each sent as it is read.
  grpc::Status Read(grpc::ServerContext* context, const mpb::ReadRequest* request,
                    grpc::ServerWriter<mpb::ReadChunk>* writer) override {
    return Serve(*context, "Read", [&](const Principal& who) -> Status {
      auto variant = request->variant() == mpb::VARIANT_THUMBNAIL ? MediaVariant::kThumbnail
                                                                  : MediaVariant::kOriginal;
      uint64_t offset = request->has_range() ? request->offset() : 0;
      uint64_t end = UINT64_MAX;
      if (request->has_range() && request->length() > 0) end = offset + request->length();
      bool first = true;
      do {
        uint64_t length = std::min<uint64_t>(kMediaChunkBytes, end - offset);
        auto part =
            media_.Read(who.tenant, request->media_id(), ByteRange{offset, length}, variant);
        if (!part.ok()) return part.status();
        mpb::ReadChunk chunk;
        if (first) {
          chunk.set_total_size(part->total_size);
          chunk.set_mime_type(part->mime_type);
          end = std::min(end, part->total_size);
        }
        chunk.set_offset(offset);
        if (part->bytes.empty()) break;  // nothing more (never loop on nothing)
        offset += part->bytes.size();
        chunk.set_data(std::move(part->bytes));
        if (!writer->Write(chunk)) return Unavailable("the caller went away");
        first = false;
      } while (offset < end);
      return Status::Ok();
    });
  }

  grpc::Status Presign(grpc::ServerContext* context, const mpb::PresignRequest* request,
                       mpb::PresignResponse* response) override {
    return Serve(*context, "Presign", [&](const Principal& who) -> Status {
      auto url = media_.Presign(who.tenant, request->id(), OpOf(request->op()), request->ttl_s());
      if (!url.ok()) return url.status();
      response->set_method(url->method);
      response->set_path(url->path);
      response->set_query(url->Query());
      response->set_expires_s(url->expires_s);
      return Status::Ok();
    });
  }

  grpc::Status VerifyPresigned(grpc::ServerContext* context,
                               const mpb::VerifyPresignedRequest* request,
                               mpb::VerifyPresignedResponse*) override {
    return Serve(*context, "VerifyPresigned", [&](const Principal&) {
      return media_.VerifyPresigned(request->tenant(), OpOf(request->op()), request->id(),
                                    request->expires_s(), request->signature());
    });
  }

  grpc::Status GetTenantLimits(grpc::ServerContext* context, const mpb::TenantRef* request,
                               mpb::TenantLimits* response) override {
    return Serve(*context, "GetTenantLimits", [&](const Principal&) -> Status {
      auto limits = media_.TenantLimits(request->tenant());
      if (!limits.ok()) return limits.status();
      if (limits->max_bytes) response->set_max_bytes(*limits->max_bytes);
      if (limits->allowed_types) response->set_allowed_types(*limits->allowed_types);
      return Status::Ok();
    });
  }

  grpc::Status SetTenantLimits(grpc::ServerContext* context,
                               const mpb::SetTenantLimitsRequest* request,
                               mpb::SetTenantLimitsResponse*) override {
    return Serve(*context, "SetTenantLimits", [&](const Principal&) {
      TenantMediaLimits limits;
      if (request->limits().has_max_bytes()) limits.max_bytes = request->limits().max_bytes();
      if (request->limits().has_allowed_types()) {
        limits.allowed_types = request->limits().allowed_types();
      }
      return media_.SetTenantLimits(request->tenant(), limits);
    });
  }

 private:
  template <typename Handler>
  static grpc::Status Serve(grpc::ServerContext& context, const char* method, Handler handler) {
    return rpc::ServeUnary(context, std::string("media.v1.MediaService/") + method, handler);
  }

  MediaService& media_;
};

}  // namespace

RpcServicePtr NewMediaGrpcService(MediaService& media) {
  return RpcServicePtr(new MediaGrpcService(media));
}

}  // namespace flare
