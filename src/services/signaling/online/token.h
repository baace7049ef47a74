// Login tokens: HS256 JWTs with sub, tenant, device, platform and exp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

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
  int64_t issued_at_s = 0;  // the token's "iat"; 0 when it has none
  // The business server acting for this user (the HTTP API), never a
  // client: it may send NOTIFICATION messages.
  bool business_server = false;
};

// Who an admin token speaks for: one tenant, or every tenant ("*").
struct AdminClaims {
  std::string tenant;  // "*": every tenant
  std::string subject;
  int64_t expires_s = 0;
};

// Client tokens are HS256 with the server's secret, or RS256 / ES256 signed
// by a tenant's business server: then the token's "kid" header names the
// public key <public_keys_dir>/<tenant>/<kid>.pem (read when used, so keys
// rotate by adding a file), and the algorithm must be the one of that key.
// Admin tokens are HS256 with the server's secret and "role": "admin"; they
// never log a client in, and a client token is never an admin token.
class TokenSigner {
 public:
  explicit TokenSigner(std::string secret, std::string public_keys_dir = "")
      : secret_(std::move(secret)), public_keys_dir_(std::move(public_keys_dir)) {}
  Result<std::string> Issue(const Principal& who, int64_t now_s, int64_t ttl_s) const;
  // Checks signature, algorithm, expiry and the claims' shape.
  Result<Principal> Verify(const std::string& token, int64_t now_s) const;

  Result<std::string> IssueAdmin(const AdminClaims& claims, int64_t now_s, int64_t ttl_s) const;
  Result<AdminClaims> VerifyAdmin(const std::string& token, int64_t now_s) const;

 private:
  // The PEM public key that verifies a token of `tenant` with `kid`, and its algorithm.
  Result<std::pair<std::string, int>> PublicKey(const std::string& tenant,
                                                const std::string& kid) const;

  std::string secret_;
  std::string public_keys_dir_;
};

// auth.jwt_secret if set (at least 32 bytes, else InvalidArgument naming the
// key); else the secret kept in <data_dir>/jwt.secret, generated (32 random
// bytes, hex) into a file created 0600 on first use. An existing secret file
// that other users can read is refused.
Result<std::string> ResolveJwtSecret(const Config& config);

}  // namespace flare
