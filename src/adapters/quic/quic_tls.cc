#include "adapters/quic/quic_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/quic/quic_records.h"

namespace flare::quic {
namespace {

// TLS 1.3 only, with the AEADs QUIC defines; no middlebox compatibility
// mode (QUIC has no ChangeCipherSpec).
constexpr char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

Status TlsError(const std::string& what, int rv) {
  return Internal(what + ": " + gnutls_strerror(rv));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes `data` to `path` through a temporary file and a rename, so a
// reader never sees half a file.
// The temporary file is new (mkstemp), so a file left there with looser
// permissions is never reused, and it gets `mode` before anything is in it.
Status WriteFileAtomic(const std::string& path, const gnutls_datum_t& data, mode_t mode) {
  std::string tmp = path + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return IoError("cannot write " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;
  ok = ok && ::write(fd, data.data, data.size) == static_cast<ssize_t>(data.size);
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return IoError("cannot write " + path);
  }
  return Status::Ok();
}

// A self-signed certificate for localhost / 127.0.0.1 / ::1 and its key.
Status GenerateDevCertificate(const CertFiles& files) {
  gnutls_x509_privkey_t key = nullptr;
  gnutls_x509_crt_t crt = nullptr;
  gnutls_datum_t cert_pem{}, key_pem{};
  auto cleanup = [&] {
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    gnutls_free(cert_pem.data);
    gnutls_free(key_pem.data);
  };
  int rv = gnutls_x509_privkey_init(&key);
  if (rv == 0)
    rv = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                      GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  if (rv == 0) rv = gnutls_x509_crt_init(&crt);
  unsigned char serial[16];
  if (rv == 0) rv = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive serial number
  time_t now = std::time(nullptr);
  const char* err = nullptr;
  const unsigned char v4[4] = {127, 0, 0, 1};
  unsigned char v6[16] = {0};
  v6[15] = 1;
  if (rv == 0) rv = gnutls_x509_crt_set_version(crt, 3);
  if (rv == 0) rv = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
  if (rv == 0) rv = gnutls_x509_crt_set_activation_time(crt, now - 3600);
  if (rv == 0) rv = gnutls_x509_crt_set_expiration_time(crt, now + 10L * 365 * 86400);
  if (rv == 0) rv = gnutls_x509_crt_set_dn(crt, "CN=flare development", &err);
  if (rv == 0)
    rv = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                              GNUTLS_FSAN_APPEND);
  if (rv == 0)
    rv = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND);
  if (rv == 0)
    rv =
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND);
  if (rv == 0) rv = gnutls_x509_crt_set_key(crt, key);
  if (rv == 0) rv = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
  if (rv == 0) rv = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (rv == 0) rv = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
  if (rv == 0) rv = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem);
  if (rv == 0) rv = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem);
  if (rv != 0) {
    cleanup();
    return TlsError("generating the QUIC development certificate", rv);
  }
  // The key first: a certificate on disk always has its key beside it.
  Status st = WriteFileAtomic(files.key_file, key_pem, 0600);
  if (st.ok()) st = WriteFileAtomic(files.cert_file, cert_pem, 0644);
  cleanup();
  return st;
}

}  // namespace

Result<CertFiles> EnsureDevCertificate(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  CertFiles files{data_dir + "/quic-dev-cert.pem", data_dir + "/quic-dev-key.pem"};
  // Two processes starting on one data directory: one generates, the
  // other waits for it and uses the same pair.
  std::string lock_path = data_dir + "/quic-dev-cert.lock";
  int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0) return IoError("cannot open " + lock_path + ": " + std::strerror(errno));
  ::flock(lock, LOCK_EX);
  Status st = Status::Ok();
  if (!std::filesystem::exists(files.cert_file) || !std::filesystem::exists(files.key_file)) {
    st = GenerateDevCertificate(files);
  }
  ::close(lock);  // releases the lock
  if (!st.ok()) return st;
  return files;
}

Result<std::shared_ptr<ServerCredentials>> ServerCredentials::Load(const CertFiles& files) {
  auto creds = std::make_shared<ServerCredentials>();
  int rv = gnutls_certificate_allocate_credentials(&creds->cred_);
  if (rv == 0)
    rv = gnutls_certificate_set_x509_key_file(creds->cred_, files.cert_file.c_str(),
                                              files.key_file.c_str(), GNUTLS_X509_FMT_PEM);
  if (rv < 0) return TlsError("loading " + files.cert_file + " and " + files.key_file, rv);
  return creds;
}

ServerCredentials::~ServerCredentials() {
  if (cred_) gnutls_certificate_free_credentials(cred_);
}

Result<std::shared_ptr<ClientCredentials>> ClientCredentials::Load(const ClientTrust& trust) {
  auto creds = std::make_shared<ClientCredentials>();
  creds->trust_ = trust;
  int rv = gnutls_certificate_allocate_credentials(&creds->cred_);
  if (rv < 0) return TlsError("TLS credentials", rv);
  if (!trust.pinned_cert_file.empty()) {
    auto pem = ReadFile(trust.pinned_cert_file);
    if (!pem.ok()) return pem.status();
    gnutls_x509_crt_t crt = nullptr;
    gnutls_datum_t in{reinterpret_cast<unsigned char*>(pem->data()),
                      static_cast<unsigned>(pem->size())};
    gnutls_datum_t der{};
    rv = gnutls_x509_crt_init(&crt);
    if (rv == 0) rv = gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM);
    if (rv == 0) rv = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
    if (rv == 0) creds->pinned_der_.assign(reinterpret_cast<char*>(der.data), der.size);
    gnutls_free(der.data);
    if (crt) gnutls_x509_crt_deinit(crt);
    if (rv < 0) return TlsError("reading " + trust.pinned_cert_file, rv);
  } else if (!trust.insecure) {
    rv = gnutls_certificate_set_x509_system_trust(creds->cred_);
    if (rv < 0) return TlsError("loading the system's CA certificates", rv);
  }
  return creds;
}

ClientCredentials::~ClientCredentials() {
  if (cred_) gnutls_certificate_free_credentials(cred_);
}

bool ClientCredentials::PeerMatchesPin(gnutls_session_t session) const {
  if (pinned_der_.empty()) return true;
  unsigned n = 0;
  const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &n);
  if (peers == nullptr || n == 0) return false;
  return std::string_view(reinterpret_cast<const char*>(peers[0].data), peers[0].size) ==
         pinned_der_;
}

namespace {

Result<gnutls_session_t> NewSession(unsigned flags, gnutls_certificate_credentials_t cred,
                                    ngtcp2_crypto_conn_ref* conn_ref) {
  gnutls_session_t session = nullptr;
  int rv = gnutls_init(&session, flags);
  if (rv != 0) return TlsError("gnutls_init", rv);
  rv = gnutls_priority_set_direct(session, kPriority, nullptr);
  if (rv == 0) {
    rv = (flags & GNUTLS_SERVER) ? ngtcp2_crypto_gnutls_configure_server_session(session)
                                 : ngtcp2_crypto_gnutls_configure_client_session(session);
    if (rv != 0) rv = GNUTLS_E_INTERNAL_ERROR;
  }
  if (rv == 0) rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)),
                      static_cast<unsigned>(sizeof(kAlpn) - 1)};
  // Mandatory: a peer that does not speak flare/1 fails the handshake.
  if (rv == 0) rv = gnutls_alpn_set_protocols(session, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  if (rv != 0) {
    gnutls_deinit(session);
    return TlsError("configuring the QUIC TLS session", rv);
  }
  gnutls_session_set_ptr(session, conn_ref);
  return session;
}

bool IsNumericHost(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<gnutls_session_t> NewServerSession(const ServerCredentials& cred,
                                          ngtcp2_crypto_conn_ref* conn_ref) {
  // No session tickets: Flare does no resumption and no 0-RTT.
  return NewSession(GNUTLS_SERVER | GNUTLS_NO_TICKETS, cred.get(), conn_ref);
}

Result<gnutls_session_t> NewClientSession(const ClientCredentials& cred,
                                          const std::string& server_name,
                                          ngtcp2_crypto_conn_ref* conn_ref) {
  auto session = NewSession(GNUTLS_CLIENT | GNUTLS_NO_TICKETS, cred.get(), conn_ref);
  if (!session.ok()) return session;
  if (!IsNumericHost(server_name)) {
    gnutls_server_name_set(*session, GNUTLS_NAME_DNS, server_name.data(), server_name.size());
  }
  const ClientTrust& trust = cred.trust();
  if (trust.pinned_cert_file.empty() && !trust.insecure) {
    // The CA chain and the host name (or IP address), checked in the handshake.
    gnutls_session_set_verify_cert(*session, server_name.c_str(), 0);
  }
  return session;
}

}  // namespace flare::quic
