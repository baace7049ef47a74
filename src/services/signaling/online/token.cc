#include "services/signaling/online/token.h"

#include <jwt.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/ids.h"

namespace flare {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::string Grant(jwt_t* j, const char* name) {
  const char* v = jwt_get_grant(j, name);
  return v ? v : "";
}

}  // namespace

Result<std::string> TokenSigner::Issue(const Principal& who, int64_t now_s, int64_t ttl_s) const {
  if (!IsValidId(who.user_id)) return InvalidArgument("user id '" + who.user_id + "' is invalid");
  if (!IsValidId(who.tenant)) return InvalidArgument("tenant '" + who.tenant + "' is invalid");
  if (!IsValidId(who.device)) return InvalidArgument("device '" + who.device + "' is invalid");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal("jwt_new failed");
  JwtPtr j(raw);
  bool ok =
      jwt_add_grant(j.get(), "sub", who.user_id.c_str()) == 0 &&
      jwt_add_grant(j.get(), "tenant", who.tenant.c_str()) == 0 &&
      jwt_add_grant(j.get(), "device", who.device.c_str()) == 0 &&
      jwt_add_grant(j.get(), "platform", who.platform.c_str()) == 0 &&
      jwt_add_grant_int(j.get(), "iat", now_s) == 0 &&
      jwt_add_grant_int(j.get(), "exp", now_s + ttl_s) == 0 &&
      jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) == 0;
  if (!ok) return Internal("cannot build token");
  char* encoded = jwt_encode_str(j.get());
  if (encoded == nullptr) return Internal("cannot encode token");
  std::string token(encoded);
  free(encoded);
  return token;
}

Result<Principal> TokenSigner::Verify(const std::string& token, int64_t now_s) const {
  if (token.empty()) return Unauthenticated("token is empty");
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                      static_cast<int>(secret_.size()));
  JwtPtr j(raw);
  if (rc != 0 || !j) return Unauthenticated("token signature or format is invalid");
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256)
    return Unauthenticated("token algorithm must be HS256");
  Principal who;
  who.user_id = Grant(j.get(), "sub");
  who.tenant = Grant(j.get(), "tenant");
  who.device = Grant(j.get(), "device");
  who.platform = Grant(j.get(), "platform");
  errno = 0;
  who.expires_s = jwt_get_grant_int(j.get(), "exp");
  if (errno == ENOENT) return Unauthenticated("token has no exp claim");
  if (who.expires_s <= now_s) return Unauthenticated("token has expired");
  if (who.tenant.empty()) who.tenant = "default";
  if (who.device.empty()) who.device = "default";
  if (!IsValidId(who.user_id)) return Unauthenticated("token sub claim is missing or invalid");
  if (!IsValidId(who.tenant) || !IsValidId(who.device)) {
    return Unauthenticated("token tenant or device claim is invalid");
  }
  return who;
}

Result<std::string> ResolveJwtSecret(const Config& config) {
  if (!config.jwt_secret.empty()) return config.jwt_secret;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return IoError("cannot create data dir '" + config.data_dir + "': " + ec.message());
  fs::path path = fs::path(config.data_dir) / "jwt.secret";
  if (std::ifstream in(path); in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
    return InvalidArgument(path.string() + " holds a secret shorter than 32 characters");
  }
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Internal("no randomness for the JWT secret");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) secret += {kHex[b >> 4], kHex[b & 15]};
  fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << secret << "\n";
    if (!out) return IoError("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path, ec);  // atomic: a concurrent start sees the whole file or none
  if (ec) return IoError("cannot write " + path.string() + ": " + ec.message());
  return secret;
}

}  // namespace flare
