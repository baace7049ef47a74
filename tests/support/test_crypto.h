// Test support: keys, a self-signed TLS certificate and JWT verification,
// made with OpenSSL 3 and checked with libjwt (a second implementation, so
// a signature Flare makes is verified by code that is not Flare's).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace flare::testing {

struct TestKeyPair {
  std::string private_pem;  // PKCS#8, like Apple's .p8 files and Google's key JSON
  std::string public_pem;   // SubjectPublicKeyInfo
};

TestKeyPair MakeEcP256Key();
TestKeyPair MakeRsaKey(int bits = 2048);

struct TestCertificate {
  std::string cert_pem;  // self-signed, CA:TRUE, subjectAltName IP:127.0.0.1, DNS:localhost
  std::string key_pem;
};
TestCertificate MakeSelfSignedCertificate();

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct VerifiedJwt {
  bool ok = false;
  std::string error;
  nlohmann::json header;
  nlohmann::json claims;
};
// Verifies `token`'s signature with `public_pem` (libjwt: ES256 or RS256,
// whichever the token names) and returns its header and claims.
VerifiedJwt VerifyJwt(const std::string& token, const std::string& public_pem);

}  // namespace flare::testing
