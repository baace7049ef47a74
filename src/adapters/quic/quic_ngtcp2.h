// Small helpers shared by the QUIC listener and client around ngtcp2:
// the clock it runs on, random connection ids, path storage, and the
// crypto callbacks of its GnuTLS backend.
#pragma once

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <chrono>
#include <cstring>
#include <string>

namespace flare::quic {

inline constexpr size_t kCidBytes = 16;
// One datagram: what ngtcp2 may fill after path MTU discovery.
inline constexpr size_t kMaxDatagram = NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE;

// ngtcp2's timestamps: nanoseconds of the monotonic clock. (Timers run on
// the I/O loop; no test needs to move this clock.)
inline ngtcp2_tstamp Now() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

inline void Random(uint8_t* dest, size_t n) { (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, n); }

inline void RandCallback(uint8_t* dest, size_t n, const ngtcp2_rand_ctx*) { Random(dest, n); }

inline ngtcp2_cid RandomCid() {
  ngtcp2_cid cid;
  cid.datalen = kCidBytes;
  Random(cid.data, kCidBytes);
  return cid;
}

inline std::string CidKey(const uint8_t* data, size_t n) {
  return std::string(reinterpret_cast<const char*>(data), n);
}
inline std::string CidKey(const ngtcp2_cid& cid) { return CidKey(cid.data, cid.datalen); }

// Room for the addresses ngtcp2 writes into a path.
struct PathStorage {
  ngtcp2_sockaddr_union local{}, remote{};
  ngtcp2_path path{};
  PathStorage() {
    path.local = {&local.sa, sizeof local};
    path.remote = {&remote.sa, sizeof remote};
  }
};

// The callbacks ngtcp2's crypto library implements, for both sides.
inline void SetCryptoCallbacks(ngtcp2_callbacks& cb) {
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = RandCallback;
}

}  // namespace flare::quic
