#include "services/signaling/online/token.h"

#include <fcntl.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

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

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  std::string b64(in);
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b64.size() % 4 != 0) b64.push_back('=');
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = b64.size() - b64.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - std::min<size_t>(pad, 2));
  return out;
}

// A token's header and claims read WITHOUT checking its signature: only to
// find the key that checks it.
struct Unverified {
  std::string alg, kid, tenant, role;
};

Result<Unverified> Peek(const std::string& token) {
  size_t first = token.find('.');
  size_t second = first == std::string::npos ? first : token.find('.', first + 1);
  if (second == std::string::npos) return Unauthenticated("token signature or format is invalid");
  auto head = Base64UrlDecode(std::string_view(token).substr(0, first));
  auto body = Base64UrlDecode(std::string_view(token).substr(first + 1, second - first - 1));
  if (!head || !body) return Unauthenticated("token signature or format is invalid");
  auto h = nlohmann::json::parse(*head, nullptr, false);
  auto b = nlohmann::json::parse(*body, nullptr, false);
  if (!h.is_object() || !b.is_object())
    return Unauthenticated("token signature or format is invalid");
  auto text = [](const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return Unverified{text(h, "alg"), text(h, "kid"), text(b, "tenant"), text(b, "role")};
}

// A tenant or key id that is safe as one path component.
bool IsPathSafeId(const std::string& id) { return IsValidId(id) && id[0] != '.'; }

Result<JwtPtr> Decode(const std::string& token, std::string_view key, jwt_alg_t expected) {
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size()));
  JwtPtr j(raw);
  if (rc != 0 || !j) return Unauthenticated("token signature or format is invalid");
  // The key decides the algorithm, never the token: an RS256 public key
  // used as an HS256 secret would let anyone sign.
  if (jwt_get_alg(j.get()) != expected) return Unauthenticated("token algorithm is not allowed");
  return j;
}

Result<std::string> Encode(jwt_t* j) {
  char* encoded = jwt_encode_str(j);
  if (encoded == nullptr) return Internal("cannot encode token");
  std::string token(encoded);
  free(encoded);
  return token;
}

}  // namespace

Result<std::pair<std::string, int>> TokenSigner::PublicKey(const std::string& tenant,
                                                           const std::string& kid) const {
  if (!IsPathSafeId(tenant) || !IsPathSafeId(kid))
    return Unauthenticated("token tenant or kid is invalid");
  std::string path = public_keys_dir_ + "/" + tenant + "/" + kid + ".pem";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio) return Unauthenticated("no public key '" + kid + "' for tenant '" + tenant + "'");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!pkey) return Unauthenticated("public key '" + kid + "' cannot be read");
  int alg = JWT_ALG_NONE;
  if (EVP_PKEY_base_id(pkey.get()) == EVP_PKEY_RSA) alg = JWT_ALG_RS256;
  if (EVP_PKEY_base_id(pkey.get()) == EVP_PKEY_EC && EVP_PKEY_bits(pkey.get()) == 256)
    alg = JWT_ALG_ES256;
  if (alg == JWT_ALG_NONE) return Unauthenticated("public key '" + kid + "' is not RSA or P-256");
  std::string pem;
  BIO_reset(bio.get());
  char chunk[1024];
  int n;
  while ((n = BIO_read(bio.get(), chunk, sizeof chunk)) > 0) pem.append(chunk, n);
  return std::make_pair(std::move(pem), alg);
}

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
  return Encode(j.get());
}

Result<Principal> TokenSigner::Verify(const std::string& token, int64_t now_s) const {
  if (token.empty()) return Unauthenticated("token is empty");
  auto peek = Peek(token);
  if (!peek.ok()) return peek.status();
  if (!peek->role.empty()) return Unauthenticated("an admin token cannot log a client in");
  Result<JwtPtr> j = Unauthenticated("token algorithm must be HS256, RS256 or ES256");
  if (peek->alg == "HS256") {
    j = Decode(token, secret_, JWT_ALG_HS256);
  } else if ((peek->alg == "RS256" || peek->alg == "ES256") && !public_keys_dir_.empty()) {
    auto key = PublicKey(peek->tenant.empty() ? "default" : peek->tenant, peek->kid);
    if (!key.ok()) return key.status();
    j = Decode(token, key->first, static_cast<jwt_alg_t>(key->second));
  }
  if (!j.ok()) return j.status();
  Principal who;
  who.user_id = Grant(j->get(), "sub");
  who.tenant = Grant(j->get(), "tenant");
  who.device = Grant(j->get(), "device");
  who.platform = Grant(j->get(), "platform");
  errno = 0;
  who.expires_s = jwt_get_grant_int(j->get(), "exp");
  if (errno == ENOENT) return Unauthenticated("token has no exp claim");
  if (who.expires_s <= now_s) return Unauthenticated("token has expired");
  errno = 0;
  int64_t issued_at = jwt_get_grant_int(j->get(), "iat");
  who.issued_at_s = errno == 0 ? issued_at : 0;
  if (who.tenant.empty()) who.tenant = "default";
  if (who.device.empty()) who.device = "default";
  if (!IsValidId(who.user_id)) return Unauthenticated("token sub claim is missing or invalid");
  if (!IsValidId(who.tenant) || !IsValidId(who.device)) {
    return Unauthenticated("token tenant or device claim is invalid");
  }
  return who;
}

Result<std::string> TokenSigner::IssueAdmin(const AdminClaims& claims, int64_t now_s,
                                            int64_t ttl_s) const {
  if (claims.tenant != "*" && !IsValidId(claims.tenant))
    return InvalidArgument("tenant '" + claims.tenant + "' is invalid");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal("jwt_new failed");
  JwtPtr j(raw);
  std::string subject = claims.subject.empty() ? "admin" : claims.subject;
  bool ok =
      jwt_add_grant(j.get(), "sub", subject.c_str()) == 0 &&
      jwt_add_grant(j.get(), "tenant", claims.tenant.c_str()) == 0 &&
      jwt_add_grant(j.get(), "role", "admin") == 0 &&
      jwt_add_grant_int(j.get(), "iat", now_s) == 0 &&
      jwt_add_grant_int(j.get(), "exp", now_s + ttl_s) == 0 &&
      jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) == 0;
  if (!ok) return Internal("cannot build token");
  return Encode(j.get());
}

Result<AdminClaims> TokenSigner::VerifyAdmin(const std::string& token, int64_t now_s) const {
  auto j = Decode(token, secret_, JWT_ALG_HS256);
  if (!j.ok()) return j.status();
  if (Grant(j->get(), "role") != "admin") return Unauthenticated("not an admin token");
  AdminClaims claims{Grant(j->get(), "tenant"), Grant(j->get(), "sub"), 0};
  errno = 0;
  claims.expires_s = jwt_get_grant_int(j->get(), "exp");
  if (errno == ENOENT) return Unauthenticated("token has no exp claim");
  if (claims.expires_s <= now_s) return Unauthenticated("token has expired");
  if (claims.tenant != "*" && !IsValidId(claims.tenant))
    return Unauthenticated("token tenant claim is invalid");
  return claims;
}

namespace {

constexpr size_t kMinSecretBytes = 32;

// Reads the first line of an existing secret file; refuses one that is not a
// regular file or that other users could read.
Result<std::string> ReadSecretFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  std::string contents;
  bool stat_ok = ::fstat(fd, &st) == 0;
  char chunk[256];
  ssize_t n;
  while (stat_ok && contents.size() < 4096 && (n = ::read(fd, chunk, sizeof chunk)) > 0) {
    contents.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!stat_ok || !S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument(path + " is readable by other users; make it mode 0600");
  }
  std::string secret = contents.substr(0, contents.find('\n'));
  if (secret.size() < kMinSecretBytes) {
    return InvalidArgument(path + " holds a secret shorter than 32 characters");
  }
  return secret;
}

std::string NewHexSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) secret += {kHex[b >> 4], kHex[b & 15]};
  return secret;
}

// Writes a new secret beside `path` and links it into place. mkstemp creates
// the file 0600 with O_EXCL, so the secret is never readable by others and a
// planted file or symlink is never written through. link() does not replace:
// if a concurrent start won, its secret is the one used.
Result<std::string> CreateSecretFile(const std::string& path) {
  std::string secret = NewHexSecret();
  if (secret.empty()) return Internal("no randomness for the JWT secret");
  std::string tmp = path + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return IoError("cannot create a file beside " + path + ": " + std::strerror(errno));
  std::string line = secret + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!written) return IoError("cannot write " + tmp);
  if (linked != 0 && link_errno == EEXIST) return ReadSecretFile(path);
  if (linked != 0) return IoError("cannot create " + path + ": " + std::strerror(link_errno));
  return secret;
}

}  // namespace

Result<std::string> ResolveJwtSecret(const Config& config) {
  if (!config.jwt_secret.empty()) {
    if (config.jwt_secret.size() < kMinSecretBytes) {
      return InvalidArgument("config key 'auth.jwt_secret' is " +
                             std::to_string(config.jwt_secret.size()) +
                             " bytes; an HS256 secret needs at least 32");
    }
    return config.jwt_secret;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  // A data dir created here is private to its user (it holds the secret and
  // the store); an existing one is left as the operator set it up.
  if (!fs::exists(config.data_dir, ec)) {
    fs::create_directories(config.data_dir, ec);
    if (!ec) fs::permissions(config.data_dir, fs::perms::owner_all, ec);
  }
  if (ec) return IoError("cannot create data dir '" + config.data_dir + "': " + ec.message());
  std::string path = (fs::path(config.data_dir) / "jwt.secret").string();
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return ReadSecretFile(path);
  if (errno != ENOENT) return IoError("cannot stat " + path + ": " + std::strerror(errno));
  return CreateSecretFile(path);
}

}  // namespace flare
