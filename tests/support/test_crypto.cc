#include "support/test_crypto.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace flare::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

TestKeyPair PemsOf(EVP_PKEY* key) {
  TestKeyPair pair;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);  // PKCS#8
  pair.private_pem = BioText(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  pair.public_pem = BioText(pub);
  return pair;
}

void AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

TestKeyPair MakeEcP256Key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  TestKeyPair pair = PemsOf(key);
  EVP_PKEY_free(key);
  return pair;
}

TestKeyPair MakeRsaKey(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  TestKeyPair pair = PemsOf(key);
  EVP_PKEY_free(key);
  return pair;
}

TestCertificate MakeSelfSignedCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86'400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  AddExtension(cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  X509_sign(cert, key, EVP_sha256());
  TestCertificate out;
  BIO* c = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(c, cert);
  out.cert_pem = BioText(c);
  out.key_pem = PemsOf(key).private_pem;
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/flare-push-test-XXXXXX";
  if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string file = path_ + "/" + name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

VerifiedJwt VerifyJwt(const std::string& token, const std::string& public_pem) {
  VerifiedJwt out;
  jwt_t* jwt = nullptr;
  int rc =
      jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(public_pem.data()),
                 static_cast<int>(public_pem.size()));
  if (rc != 0 || jwt == nullptr) {
    out.error = "jwt_decode failed: " + std::to_string(rc);
    return out;
  }
  char* header = jwt_get_headers_json(jwt, nullptr);
  char* claims = jwt_get_grants_json(jwt, nullptr);
  out.header = nlohmann::json::parse(header ? header : "{}", nullptr, false);
  out.claims = nlohmann::json::parse(claims ? claims : "{}", nullptr, false);
  free(header);
  free(claims);
  jwt_free(jwt);
  out.ok = true;
  return out;
}

}  // namespace flare::testing
