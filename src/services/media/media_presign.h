// Presigned media URLs: a download (GET /v1/media/<media_id>) or an upload
// of the parts of a multipart upload (PUT /v1/media/uploads/<upload_id>...)
// that needs no bearer token until its expiry. The signature is
// HMAC-SHA256, under a key derived from the server's JWT secret
// (HMAC(secret, "flare-media-presign"), so the secret itself never signs
// URLs), over the method, the path, the tenant and the expiry:
//
//   hex(HMAC(key, method "\n" path "\n" tenant "\n" expires))
//
// The URL carries them as query parameters tenant, expires (Unix seconds)
// and signature. Expiry is read on the Clock; a lifetime is capped at
// media.presign_max_ttl_s.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/result.h"

namespace flare {

enum class PresignOp { kDownload, kUpload };

struct PresignedUrl {
  std::string method;  // GET or PUT
  std::string path;    // /v1/media/<id> or /v1/media/uploads/<id>
  std::string tenant;
  int64_t expires_s = 0;  // Unix seconds
  std::string signature;  // lowercase hex
  // "tenant=...&expires=...&signature=..." (tenant ids need no escaping).
  std::string Query() const;
};

class MediaPresigner {
 public:
  MediaPresigner(const std::string& jwt_secret, const Clock& clock, int64_t max_ttl_s);

  // The method and path `op` on resource `id` (a media id or an upload id) has.
  static std::string MethodOf(PresignOp op);
  static std::string PathOf(PresignOp op, const std::string& id);

  // kInvalidArgument for ttl_s < 1; longer than max_ttl_s is cut to it.
  Result<PresignedUrl> Sign(const std::string& tenant, PresignOp op, const std::string& id,
                            int64_t ttl_s) const;
  // kPermissionDenied when the signature does not match (any part
  // changed) or the URL expired; OK otherwise.
  Status Verify(const std::string& tenant, PresignOp op, const std::string& id, int64_t expires_s,
                const std::string& signature) const;

 private:
  std::string SignatureOf(const std::string& method, const std::string& path,
                          const std::string& tenant, int64_t expires_s) const;

  const std::string key_;
  const Clock& clock_;
  const int64_t max_ttl_s_;
};

}  // namespace flare
