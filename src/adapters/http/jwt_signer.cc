#include "adapters/http/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

namespace flare {

struct JwtSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

// DER ECDSA-Sig-Value -> the fixed-size R||S of JWS (RFC 7518 section 3.4).
Result<std::string> DerToRawP256(const unsigned char* der, size_t len) {
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  if (sig == nullptr) return Internal("ES256: cannot parse the signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  bool ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  if (!ok) return Internal("ES256: signature does not fit P-256");
  return raw;
}

}  // namespace

std::string Base64UrlEncode(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {  // no '=' padding in JWS
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("error reading '" + path + "'");
  return text.str();
}

JwtSigner::JwtSigner(std::unique_ptr<Key> key, Algorithm algorithm)
    : key_(std::move(key)), algorithm_(algorithm) {}
JwtSigner::~JwtSigner() = default;

Result<std::unique_ptr<JwtSigner>> JwtSigner::FromPem(const std::string& pem, Algorithm algorithm) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto key = std::make_unique<Key>();
  key->pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key->pkey == nullptr) return InvalidArgument("no PEM private key");
  bool es256 = algorithm == Algorithm::kES256;
  if (es256 && !EVP_PKEY_is_a(key->pkey, "EC")) return InvalidArgument("ES256 needs an EC key");
  if (!es256 && !EVP_PKEY_is_a(key->pkey, "RSA")) return InvalidArgument("RS256 needs an RSA key");
  if (es256 && EVP_PKEY_get_bits(key->pkey) != 256) {
    return InvalidArgument("ES256 needs a P-256 key");
  }
  return std::unique_ptr<JwtSigner>(new JwtSigner(std::move(key), algorithm));
}

Result<std::string> JwtSigner::Sign(nlohmann::json header, const nlohmann::json& claims) const {
  bool es256 = algorithm_ == Algorithm::kES256;
  header["alg"] = es256 ? "ES256" : "RS256";
  header["typ"] = "JWT";
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Internal("JWT signing failed");
  if (es256) {
    auto raw = DerToRawP256(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
    if (!raw.ok()) return raw.status();
    sig = std::move(raw).value();
  }
  return input + "." + Base64UrlEncode(sig);
}

}  // namespace flare
