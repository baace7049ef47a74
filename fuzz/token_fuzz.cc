// Token parsing: user and admin tokens, and the token taken from a
// WebSocket handshake's target or Authorization header. Only a token this
// secret signed may verify.
#include <string>

#include "common/handshake_token.h"
#include "fuzz_check.h"
#include "services/signaling/online/token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const flare::TokenSigner signer("fuzz-secret-0123456789abcdef0123456789");
  static const flare::TokenSigner other("another-secret-0123456789abcdef012345");
  std::string text(reinterpret_cast<const char*>(data), size);
  const int64_t now = 1'800'000'000;
  auto user = signer.Verify(text, now);
  auto admin = signer.VerifyAdmin(text, now);
  if (user.ok() || admin.ok()) {
    FUZZ_CHECK(!other.Verify(text, now).ok() && !other.VerifyAdmin(text, now).ok());
  }
  std::string from_target = flare::TokenFromTarget(text);
  FUZZ_CHECK(from_target.size() <= size);
  size_t half = size / 2;
  (void)flare::HandshakeToken(std::string_view(text).substr(0, half),
                              std::string_view(text).substr(half));
  return 0;
}
