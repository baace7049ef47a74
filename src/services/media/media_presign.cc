#include "services/media/media_presign.h"

#include <algorithm>

#include "services/media/media_crypto.h"

namespace flare {

std::string PresignedUrl::Query() const {
  return "tenant=" + tenant + "&expires=" + std::to_string(expires_s) + "&signature=" + signature;
}

MediaPresigner::MediaPresigner(const std::string& jwt_secret, const Clock& clock, int64_t max_ttl_s)
    : key_(media::HmacSha256(jwt_secret, "flare-media-presign")),
      clock_(clock),
      max_ttl_s_(max_ttl_s) {}

std::string MediaPresigner::MethodOf(PresignOp op) {
  return op == PresignOp::kDownload ? "GET" : "PUT";
}

std::string MediaPresigner::PathOf(PresignOp op, const std::string& id) {
  return op == PresignOp::kDownload ? "/v1/media/" + id : "/v1/media/uploads/" + id;
}

Result<PresignedUrl> MediaPresigner::Sign(const std::string& tenant, PresignOp op,
                                          const std::string& id, int64_t ttl_s) const {
  if (ttl_s < 1) return InvalidArgument("presigned URL lifetime must be at least 1 s");
  PresignedUrl url;
  url.method = MethodOf(op);
  url.path = PathOf(op, id);
  url.tenant = tenant;
  url.expires_s = clock_.NowMs() / 1000 + std::min(ttl_s, max_ttl_s_);
  url.signature = SignatureOf(url.method, url.path, tenant, url.expires_s);
  return url;
}

Status MediaPresigner::Verify(const std::string& tenant, PresignOp op, const std::string& id,
                              int64_t expires_s, const std::string& signature) const {
  std::string expected = SignatureOf(MethodOf(op), PathOf(op, id), tenant, expires_s);
  if (!media::ConstantTimeEquals(expected, signature)) {
    return PermissionDenied("presigned URL signature does not match");
  }
  if (clock_.NowMs() / 1000 > expires_s) return PermissionDenied("presigned URL expired");
  return Status::Ok();
}

std::string MediaPresigner::SignatureOf(const std::string& method, const std::string& path,
                                        const std::string& tenant, int64_t expires_s) const {
  return media::HexEncode(media::HmacSha256(
      key_, method + "\n" + path + "\n" + tenant + "\n" + std::to_string(expires_s)));
}

}  // namespace flare
