// In namespace media: the S3 adapter has a Sha256Hex of its own.
// SHA-256 of media content (streamed: multipart uploads are hashed as
// they are read back) and HMAC-SHA256 for presigned URLs, on OpenSSL 3.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace flare::media {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // lowercase hex; call once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view data);
// The raw 32-byte MAC.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view bytes);
// Compares without leaking where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace flare::media
