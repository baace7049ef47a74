// Media: uploads (single, and resumable multipart whose parts may be sent
// again), downloads with HTTP ranges, thumbnails, presigned URLs, and the
// tenants' media limits.
#include <charconv>

#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/media/media_service.h"

namespace flare {
namespace {

constexpr int64_t kDefaultPresignTtlS = 3'600;

nlohmann::json InfoJson(const MediaInfo& m) {
  nlohmann::json out = {{"media_id", m.media_id},    {"url", m.url()},
                        {"mime_type", m.mime_type},  {"size_bytes", m.size},
                        {"width", m.width},          {"height", m.height},
                        {"sha256", m.sha256},        {"created_ms", m.created_ms},
                        {"references", m.references}};
  if (m.has_thumbnail) out["thumbnail_url"] = m.url() + "/thumbnail";
  return out;
}

// Runs `body` with the media service, or 503 where this process has none.
template <typename Body>
ApiHandler WithMedia(CoreGatewayDeps& deps, Body body) {
  return [&deps, body](const std::shared_ptr<ApiCall>& call) {
    if (deps.media == nullptr) return call->Fail(Unavailable("media are not served here"));
    body(*deps.media, call);
  };
}

std::string OwnerOf(const ApiCall& call) {
  const Caller& c = call.caller();
  if (c.kind == Caller::Kind::kUser) return c.user_id;
  return call.Query("owner").value_or("api");
}

// A presigned request must carry a valid signature for this op and id;
// others were authenticated already.
Status CheckPresigned(MediaService& media, const ApiCall& call, PresignOp op,
                      const std::string& id) {
  if (call.caller().kind != Caller::Kind::kAnonymous) return Status::Ok();
  int64_t expires = 0;
  std::string text = call.Query("expires").value_or("");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), expires);
  if (ec != std::errc() || end != text.data() + text.size())
    return Unauthenticated("a presigned URL carries expires");
  return media.VerifyPresigned(call.caller().tenant, op, id, expires,
                               call.Query("signature").value_or(""));
}

// "bytes=a-b", "bytes=a-" or "bytes=-n" (needs the size); nullopt for none.
Result<std::optional<ByteRange>> ParseRange(std::string_view header, MediaService& media,
                                            const std::string& tenant, const std::string& id,
                                            MediaVariant variant) {
  if (header.empty()) return std::optional<ByteRange>();
  if (header.substr(0, 6) != "bytes=" || header.find(',') != std::string_view::npos)
    return InvalidArgument("only one range of bytes=first-last is served");
  std::string_view spec = header.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return InvalidArgument("malformed Range");
  auto number = [](std::string_view t, uint64_t& out) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && end == t.data() + t.size();
  };
  uint64_t first = 0, last = 0;
  if (dash == 0) {  // the last n bytes
    if (!number(spec.substr(1), last) || last == 0) return InvalidArgument("malformed Range");
    auto info = media.Info(tenant, id);
    if (!info.ok()) return info.status();
    uint64_t size = variant == MediaVariant::kThumbnail ? info->thumbnail_size : info->size;
    if (size == 0) {
      return Status(InvalidArgument("the range is past the end"))
          .WithDetail(kMediaRangeNotSatisfiable);
    }
    uint64_t n = std::min<uint64_t>(last, size);
    return std::optional<ByteRange>(ByteRange{size - n, n});
  }
  if (!number(spec.substr(0, dash), first)) return InvalidArgument("malformed Range");
  if (dash + 1 == spec.size()) return std::optional<ByteRange>(ByteRange{first, std::nullopt});
  if (!number(spec.substr(dash + 1), last) || last < first)
    return InvalidArgument("malformed Range");
  if (last == UINT64_MAX) return std::optional<ByteRange>(ByteRange{first, std::nullopt});
  return std::optional<ByteRange>(ByteRange{first, last - first + 1});
}

void Download(MediaService& media, const std::shared_ptr<ApiCall>& call, MediaVariant variant) {
  const std::string& id = call->Param("media_id");
  if (Status st = CheckPresigned(media, *call, PresignOp::kDownload, id); !st.ok())
    return call->Fail(st);
  const std::string& tenant = call->caller().tenant;
  auto range = ParseRange(call->http().Header("range"), media, tenant, id, variant);
  Result<MediaBytes> bytes =
      range.ok() ? media.Read(tenant, id, *range, variant) : Result<MediaBytes>(range.status());
  if (!bytes.ok()) {
    if (bytes.status().detail() == kMediaRangeNotSatisfiable) {
      auto info = media.Info(tenant, id);
      uint64_t size = !info.ok()                            ? 0
                      : variant == MediaVariant::kThumbnail ? info->thumbnail_size
                                                            : info->size;
      std::string total = info.ok() ? std::to_string(size) : "*";
      return call->Fail(416, "range_not_satisfiable", bytes.status().message(),
                        {{"Content-Range", "bytes */" + total}});
    }
    return call->Fail(bytes.status());
  }
  HttpServerResponse response{200, bytes->mime_type, std::move(bytes->bytes), {}};
  response.headers = {{"Accept-Ranges", "bytes"},
                      {"Cache-Control", "private, max-age=86400"},
                      {"X-Content-Type-Options", "nosniff"}};
  if (range->has_value()) {
    response.status = 206;
    uint64_t last = bytes->offset + response.body.size() - (response.body.empty() ? 0 : 1);
    response.headers.emplace_back("Content-Range", "bytes " + std::to_string(bytes->offset) + "-" +
                                                       std::to_string(last) + "/" +
                                                       std::to_string(bytes->total_size));
  }
  call->ReplyRaw(std::move(response));
}

void Presign(MediaService& media, const std::shared_ptr<ApiCall>& call) {
  int64_t ttl = kDefaultPresignTtlS;
  if (!call->http().body.empty()) {
    auto body = call->JsonBody();
    if (!body.ok()) return call->Fail(body.status());
    ttl = body->value("ttl_s", kDefaultPresignTtlS);
  }
  const std::string& tenant = call->caller().tenant;
  auto url = media.Presign(tenant, call->Param("media_id"), PresignOp::kDownload, ttl);
  if (!url.ok()) return call->Fail(url.status());
  nlohmann::json out = {{"url", url->path + "?" + url->Query()},
                        {"expires_at_ms", url->expires_s * 1000}};
  auto info = media.Info(tenant, call->Param("media_id"));
  if (info.ok() && info->has_thumbnail)
    out["thumbnail_url"] = url->path + "/thumbnail?" + url->Query();
  call->Reply(200, out);
}

void BeginUpload(MediaService& media, const std::shared_ptr<ApiCall>& call) {
  const std::string& tenant = call->caller().tenant;
  auto id = media.BeginUpload(tenant, OwnerOf(*call));
  if (!id.ok()) return call->Fail(id.status());
  nlohmann::json out = {{"upload_id", *id},
                        {"max_part_bytes", media.options().max_part_bytes},
                        {"min_part_bytes", media.options().min_part_bytes}};
  if (auto url = media.Presign(tenant, *id, PresignOp::kUpload, kDefaultPresignTtlS); url.ok())
    out["upload_url"] = url->path + "?" + url->Query();
  call->Reply(201, out);
}

void PutPart(MediaService& media, const std::shared_ptr<ApiCall>& call) {
  const std::string& id = call->Param("upload_id");
  if (Status st = CheckPresigned(media, *call, PresignOp::kUpload, id); !st.ok())
    return call->Fail(st);
  auto part = call->QueryInt("part_number", 0, 1, 10'000);
  if (!part.ok()) return call->Fail(part.status());
  if (*part == 0) return call->Fail(InvalidArgument("part_number (1..10000) is required"));
  Status st = media.PutPart(call->caller().tenant, id, static_cast<int>(*part), call->http().body);
  if (!st.ok()) return call->Fail(st);
  call->Reply(
      200, {{"upload_id", id}, {"part_number", *part}, {"size_bytes", call->http().body.size()}});
}

}  // namespace

void AddMediaRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  const unsigned callers = kAccessApiKey | kAccessAdmin | kAccessUser;
  api.Add({.method = "POST",
           .path = "/v1/media",
           .tag = "media",
           .summary = "Upload a file in one request (raw bytes; its type is sniffed, not taken "
                      "from Content-Type). The same bytes again give the same media.",
           .access = callers,
           .scope = "media",
           .query = {{"owner", "string", false, "the uploading user (API keys and admins)"}},
           .response_example = R"({"media_id":"01J...","url":"/v1/media/01J...",
             "thumbnail_url":"/v1/media/01J.../thumbnail","mime_type":"image/png",
             "size_bytes":1024,"width":64,"height":48,"sha256":"9f86..."})",
           .success_status = 201,
           .handler = WithMedia(deps,
                                [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
                                  auto info = media.Upload(call->caller().tenant, OwnerOf(*call),
                                                           call->http().body);
                                  if (!info.ok()) return call->Fail(info.status());
                                  call->Reply(201, InfoJson(*info));
                                }),
           .raw_body = true});
  api.Add(
      {.method = "GET",
       .path = "/v1/media/{media_id}",
       .tag = "media",
       .summary = "Download a media (Range: bytes=first-last gives 206). Credentials, "
                  "?access_token=, or a presigned URL.",
       .access = callers | kAccessPresigned,
       .scope = "media",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         Download(media, call, MediaVariant::kOriginal);
       })});
  api.Add(
      {.method = "GET",
       .path = "/v1/media/{media_id}/thumbnail",
       .tag = "media",
       .summary = "An image's thumbnail (404 when there is none).",
       .access = callers | kAccessPresigned,
       .scope = "media",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         Download(media, call, MediaVariant::kThumbnail);
       })});
  api.Add(
      {.method = "GET",
       .path = "/v1/media/{media_id}/info",
       .tag = "media",
       .summary = "A media's metadata: size, sniffed type, image dimensions, references.",
       .access = callers,
       .scope = "media",
       .response_example = R"({"media_id":"01J...","mime_type":"image/png","size_bytes":1024})",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         auto info = media.Info(call->caller().tenant, call->Param("media_id"));
         if (!info.ok()) return call->Fail(info.status());
         call->Reply(200, InfoJson(*info));
       })});
  api.Add({.method = "POST",
           .path = "/v1/media/{media_id}/presign",
           .tag = "media",
           .summary = "A presigned download URL (and the thumbnail's), valid ttl_s seconds "
                      "(capped by media.presign_max_ttl_s).",
           .access = callers,
           .scope = "media",
           .request_example = R"({"ttl_s":3600})",
           .response_example =
               R"({"url":"/v1/media/01J...?tenant=acme&expires=1764503600&signature=ab12...",
             "expires_at_ms":1764503600000})",
           .handler = WithMedia(deps, Presign)});
  api.Add(
      {.method = "POST",
       .path = "/v1/media/uploads",
       .tag = "media",
       .summary = "Start a resumable multipart upload; upload_url is presigned for its parts.",
       .access = callers,
       .scope = "media",
       .query = {{"owner", "string", false, "the uploading user (API keys and admins)"}},
       .response_example =
           R"({"upload_id":"01J...","upload_url":"/v1/media/uploads/01J...?tenant=acme&expires=...&signature=...",
             "max_part_bytes":16777216,"min_part_bytes":0})",
       .success_status = 201,
       .handler = WithMedia(deps, BeginUpload)});
  api.Add({.method = "PUT",
           .path = "/v1/media/uploads/{upload_id}",
           .tag = "media",
           .summary = "Send one part (raw bytes), in any order and again if it failed.",
           .access = callers | kAccessPresigned,
           .scope = "media",
           .query = {{"part_number", "integer", true, "1..10000"}},
           .response_example = R"({"upload_id":"01J...","part_number":1,"size_bytes":5242880})",
           .handler = WithMedia(deps, PutPart),
           .raw_body = true});
  api.Add(
      {.method = "POST",
       .path = "/v1/media/uploads/{upload_id}/complete",
       .tag = "media",
       .summary = "Join parts 1..n into the media (type sniffed, deduplicated).",
       .access = callers,
       .scope = "media",
       .response_example =
           R"({"media_id":"01J...","url":"/v1/media/01J...","size_bytes":10485760})",
       .success_status = 201,
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         auto info = media.CompleteUpload(call->caller().tenant, call->Param("upload_id"));
         if (!info.ok()) return call->Fail(info.status());
         call->Reply(201, InfoJson(*info));
       })});
  api.Add(
      {.method = "DELETE",
       .path = "/v1/media/uploads/{upload_id}",
       .tag = "media",
       .summary = "Abort a multipart upload.",
       .access = callers,
       .scope = "media",
       .response_example = R"({"aborted":"01J..."})",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         Status st = media.AbortUpload(call->caller().tenant, call->Param("upload_id"));
         if (!st.ok()) return call->Fail(st);
         call->Reply(200, {{"aborted", call->Param("upload_id")}});
       })});
  api.Add(
      {.method = "GET",
       .path = "/v1/admin/media-limits",
       .tag = "admin",
       .summary = "The tenant's media limits: what it set, and what applies.",
       .access = kAccessAdmin,
       .response_example = R"({"max_bytes":104857600,"allowed_types":["image/*"]})",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         auto limits = media.LimitsFor(call->caller().tenant);
         if (!limits.ok()) return call->Fail(limits.status());
         call->Reply(200, {{"tenant", call->caller().tenant},
                           {"max_bytes", limits->max_bytes},
                           {"allowed_types", limits->allowed_types}});
       })});
  api.Add(
      {.method = "PUT",
       .path = "/v1/admin/media-limits",
       .tag = "admin",
       .summary = "Set the tenant's media limits (max_bytes at most media.max_bytes; "
                  "allowed_types comma-separated, type/* allowed); absent fields use the "
                  "defaults.",
       .access = kAccessAdmin,
       .request_example = R"({"max_bytes":10485760,"allowed_types":"image/*,application/pdf"})",
       .response_example = R"({"tenant":"acme"})",
       .handler = WithMedia(deps, [](MediaService& media, const std::shared_ptr<ApiCall>& call) {
         auto body = call->JsonBody();
         if (!body.ok()) return call->Fail(body.status());
         TenantMediaLimits limits;
         if (body->contains("max_bytes")) limits.max_bytes = body->at("max_bytes").get<int64_t>();
         if (body->contains("allowed_types"))
           limits.allowed_types = body->at("allowed_types").get<std::string>();
         Status st = media.SetTenantLimits(call->caller().tenant, limits);
         if (!st.ok()) return call->Fail(st);
         call->Reply(200, {{"tenant", call->caller().tenant}});
       })});
}

}  // namespace flare
