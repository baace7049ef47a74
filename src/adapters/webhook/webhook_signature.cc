#include "adapters/webhook/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace flare {

std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body) {
  std::string signed_bytes = timestamp + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size(), mac,
       &mac_len);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < mac_len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

Status VerifyWebhookSignature(const std::string& secret, const std::string& timestamp,
                              const std::string& signature, const std::string& body, int64_t now_s,
                              int64_t window_s) {
  int64_t sent_s = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), sent_s);
  if (timestamp.empty() || ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return PermissionDenied("X-Flare-Timestamp is missing or not a number");
  }
  std::string expected = WebhookSignature(secret, timestamp, body);
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return PermissionDenied("X-Flare-Signature does not match");
  }
  // Checked after the signature, so a forged timestamp is reported as forged.
  if (sent_s < now_s - window_s || sent_s > now_s + window_s) {
    return PermissionDenied("X-Flare-Timestamp is outside the replay window");
  }
  return Status::Ok();
}

}  // namespace flare
