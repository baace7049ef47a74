// Signs JSON Web Tokens with a private key in PEM (OpenSSL 3): ES256 for
// APNs provider tokens (the .p8 key Apple issues, an EC P-256 key in
// PKCS#8), RS256 for Google's OAuth2 JWT assertions (a service account's
// RSA key). ES256 signatures are the 64-byte R||S form JWS requires, not
// OpenSSL's DER.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace flare {

class JwtSigner {
 public:
  enum class Algorithm { kES256, kRS256 };
  // InvalidArgument if the PEM holds no private key of the algorithm's type.
  static Result<std::unique_ptr<JwtSigner>> FromPem(const std::string& pem, Algorithm algorithm);
  ~JwtSigner();

  // header.claims.signature; "alg" and "typ" are added to `header`.
  Result<std::string> Sign(nlohmann::json header, const nlohmann::json& claims) const;

 private:
  struct Key;
  JwtSigner(std::unique_ptr<Key> key, Algorithm algorithm);
  std::unique_ptr<Key> key_;
  Algorithm algorithm_;
};

std::string Base64UrlEncode(const std::string& bytes);

// The whole file, or NotFound/IoError naming it.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace flare
