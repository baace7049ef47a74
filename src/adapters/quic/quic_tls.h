// TLS for the QUIC listener and client (GnuTLS, through ngtcp2's GnuTLS
// crypto backend): certificates, the development certificate, and TLS
// sessions configured for QUIC with ALPN "flare/1".
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace flare::quic {

struct CertFiles {
  std::string cert_file;  // PEM chain
  std::string key_file;   // PEM private key
};

// The development certificate <data_dir>/quic-dev-cert.pem (+ quic-dev-
// key.pem, mode 0600): generated on first use (ECDSA P-256, self-signed,
// for localhost and 127.0.0.1, ten years), then reused.
Result<CertFiles> EnsureDevCertificate(const std::string& data_dir);

// A certificate and key loaded once, shared by every server session.
class ServerCredentials {
 public:
  static Result<std::shared_ptr<ServerCredentials>> Load(const CertFiles& files);
  ~ServerCredentials();
  gnutls_certificate_credentials_t get() const { return cred_; }

 private:
  gnutls_certificate_credentials_t cred_ = nullptr;
};

// How a client trusts the server: the system's CAs and the host name
// (default), one pinned certificate (the development certificate, say),
// or nothing at all (development only: anyone on the path can read and
// change the session).
struct ClientTrust {
  std::string pinned_cert_file;  // PEM; its first certificate must be the server's
  bool insecure = false;
};

class ClientCredentials {
 public:
  static Result<std::shared_ptr<ClientCredentials>> Load(const ClientTrust& trust);
  ~ClientCredentials();
  gnutls_certificate_credentials_t get() const { return cred_; }
  // After the handshake: the server's certificate matches the pin (or no
  // pin was set).
  bool PeerMatchesPin(gnutls_session_t session) const;
  const ClientTrust& trust() const { return trust_; }

 private:
  gnutls_certificate_credentials_t cred_ = nullptr;
  ClientTrust trust_;
  std::string pinned_der_;
};

// A TLS 1.3 session for one QUIC connection; `conn_ref` lets ngtcp2's
// crypto callbacks find the connection. Caller gnutls_deinit()s it.
Result<gnutls_session_t> NewServerSession(const ServerCredentials& cred,
                                          ngtcp2_crypto_conn_ref* conn_ref);
// `server_name` must outlive the session: GnuTLS keeps a pointer to it.
Result<gnutls_session_t> NewClientSession(const ClientCredentials& cred,
                                          const std::string& server_name,
                                          ngtcp2_crypto_conn_ref* conn_ref);

}  // namespace flare::quic
