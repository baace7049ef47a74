// One QUIC connection of the listener as the gateway's Connection. The
// thread-safe half (Send, SendMany, Close) queues frames under a mutex and
// wakes the listener's I/O thread; everything that touches ngtcp2 or
// GnuTLS runs on that thread (ngtcp2 is not thread-safe).
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/quic/quic_listener.h"
#include "adapters/quic/quic_records.h"
#include "common/connection_quota.h"

namespace flare::quic {

class ServerConn;

// What a connection needs from its listener (I/O thread only).
class ServerContext {
 public:
  virtual ~ServerContext() = default;
  virtual const QuicListenerOptions& options() const = 0;
  virtual ConnectionHandler* handler() const = 0;
  virtual const ServerCredentials& credentials() const = 0;
  virtual const uint8_t* reset_secret() const = 0;  // 32 bytes
  virtual void AddCid(const std::string& cid, const std::shared_ptr<ServerConn>& conn) = 0;
  virtual void RemoveCid(const std::string& cid) = 0;
  virtual void SendDatagram(const ngtcp2_addr& to, const uint8_t* data, size_t n) = 0;
};
inline constexpr size_t kResetSecretBytes = 32;

class ServerConn final : public Connection, public std::enable_shared_from_this<ServerConn> {
 public:
  ServerConn(ServerContext* ctx, std::shared_ptr<boost::asio::io_context> io, uint64_t id,
             std::string remote);
  ~ServerConn() override;

  // Connection (thread-safe).
  uint64_t id() const override { return id_; }
  std::string RemoteAddress() const override { return remote_; }
  size_t Send(std::shared_ptr<const std::string> bytes, bool binary) override;
  size_t SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) override;
  void Close(uint16_t code, std::string reason) override;

  // I/O thread. Creates the ngtcp2 and TLS state for the client's first
  // packet (header `hd`) and registers the connection's ids.
  Status Init(const ngtcp2_pkt_hd& hd, const ngtcp2_path& path);
  void OnPacket(const ngtcp2_path& path, const uint8_t* data, size_t n);
  // Drops the connection without a packet; OnClose follows if `notify` and
  // the gateway had it.
  void Drop(bool notify);
  // Holds `slot` (of the listener's per-address handshake quota) until the
  // token record arrives or the connection is dropped.
  void HoldUntilOpened(QuotaSlot slot) { handshaking_ = std::move(slot); }

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> bytes;
    bool binary;
  };

  size_t Queued(size_t inbox_bytes) const { return inbox_bytes + buffered_bytes_.load(); }
  void Wake();
  void Flush();  // I/O thread: inbox to stream, write, timer
  void WriteStreams();
  void ArmTimer();
  void OnTimer();
  void CloseNow(uint16_t code, const std::string& reason);
  void CloseWithError(int liberr);
  void SendClosePacket(const ngtcp2_connection_close_error& ccerr);
  void OnStreamData(int64_t stream_id, const uint8_t* data, size_t n, bool fin);
  void OnRecord(RecordType type, std::string_view payload);
  void StopReading(uint16_t code, const char* reason);

  static ngtcp2_conn* GetConn(ngtcp2_crypto_conn_ref* ref);
  static int OnRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t offset,
                              const uint8_t* data, size_t n, void* user, void* stream_user);
  static int OnStreamOpen(ngtcp2_conn*, int64_t stream_id, void* user);
  static int OnAcked(ngtcp2_conn*, int64_t stream_id, uint64_t offset, uint64_t n, void* user,
                     void* stream_user);
  static int OnStreamClose(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t code,
                           void* user, void* stream_user);
  static int OnNewCid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t n, void* user);
  static int OnRemoveCid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user);

  ServerContext* const ctx_;
  const std::shared_ptr<boost::asio::io_context> io_;  // before timer_: outlives it
  const uint64_t id_;
  const std::string remote_;

  // Thread-safe half, guarded by mu_.
  mutable std::mutex mu_;
  std::vector<Outgoing> inbox_;
  size_t inbox_bytes_ = 0;
  bool wake_pending_ = false;
  bool close_requested_ = false;
  bool finished_ = false;
  uint16_t close_code_ = kCloseNormal;
  std::string close_reason_;
  std::atomic<size_t> buffered_bytes_{0};  // handed to the stream, not yet acknowledged

  // I/O thread only.
  boost::asio::steady_timer timer_;
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  ngtcp2_crypto_conn_ref ref_{};
  std::vector<std::string> cids_;
  int64_t stream_id_ = -1;
  RecordReader reader_;
  SendBuffer send_;
  QuotaSlot handshaking_;
  bool opened_ = false;        // the token record arrived; the gateway has it
  bool reading_ = true;        // records are still read
  bool close_queued_ = false;  // the close record and FIN are queued
  bool fin_sent_ = false;
  bool stream_closed_ = false;
  bool dropped_ = false;
  uint16_t queued_close_code_ = kCloseNormal;
  std::string queued_close_reason_;
  ngtcp2_tstamp deadline_ = UINT64_MAX;  // token due, or the close linger's end
};

}  // namespace flare::quic
