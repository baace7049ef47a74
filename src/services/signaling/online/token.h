// Login tokens: HS256 JWTs with sub, tenant, device, platform and exp.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/result.h"

namespace flare {

// Who a connection is, as proven by its token.
struct Principal {
  std::string tenant;
  std::string user_id;
  std::string device;
  std::string platform;
  int64_t expires_s = 0;
};

class TokenSigner {
 public:
  explicit TokenSigner(std::string secret) : secret_(std::move(secret)) {}
  Result<std::string> Issue(const Principal& who, int64_t now_s, int64_t ttl_s) const;
  // Checks signature, algorithm (HS256 only), expiry and the claims' shape.
  Result<Principal> Verify(const std::string& token, int64_t now_s) const;

 private:
  std::string secret_;
};

// auth.jwt_secret if set (at least 32 bytes, else InvalidArgument naming the
// key); else the secret kept in <data_dir>/jwt.secret, generated (32 random
// bytes, hex) into a file created 0600 on first use. An existing secret file
// that other users can read is refused.
Result<std::string> ResolveJwtSecret(const Config& config);

}  // namespace flare
