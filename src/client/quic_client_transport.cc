// QUIC client for the client library (ngtcp2 + GnuTLS): one UDP socket
// and one ngtcp2 connection per Connect, on the transport's I/O thread.
// The records on the stream are the listener's (adapters/quic).
#include <boost/asio.hpp>

#include <cstdio>
#include <thread>

#include "adapters/quic/quic_ngtcp2.h"
#include "adapters/quic/quic_records.h"
#include "adapters/quic/quic_tls.h"
#include "client/client_transport.h"
#include "common/handshake_token.h"

namespace flare {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using namespace quic;  // NOLINT: the records and helpers of this transport

// What a session reports to its transport (I/O thread).
struct SessionEvents {
  std::function<void(Status)> connected;  // once: handshake done (or failed)
  std::function<void(std::string_view, bool)> message;
  std::function<void(uint16_t, const std::string&)> closed;  // after connected(Ok)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, const QuicClientOptions& options,
          std::shared_ptr<ClientCredentials> creds, SessionEvents events)
      : options_(options),
        creds_(std::move(creds)),
        events_(std::move(events)),
        socket_(io),
        timer_(io),
        reader_(options.max_frame_bytes) {}
  ~Session() { Free(); }

  Status Start(const udp::endpoint& server, const std::string& host, std::string token) {
    token_ = std::move(token);
    host_ = host;  // GnuTLS keeps a pointer to the name it verifies against
    boost::system::error_code ec;
    socket_.open(server.protocol(), ec);
    if (!ec) socket_.connect(server, ec);
    if (ec) return IoError("udp connect: " + ec.message());
    socket_.non_blocking(true, ec);
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
    local_ = socket_.local_endpoint();
    remote_ = server;
    ngtcp2_callbacks cb{};
    SetCryptoCallbacks(cb);
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.handshake_completed = [](ngtcp2_conn*, void* user) {
      static_cast<Session*>(user)->handshake_done_ = true;
      return 0;
    };
    cb.recv_stream_data = [](ngtcp2_conn*, uint32_t, int64_t sid, uint64_t, const uint8_t* data,
                             size_t n, void* user, void*) {
      static_cast<Session*>(user)->OnStreamData(sid, data, n);
      return 0;
    };
    cb.acked_stream_data_offset = [](ngtcp2_conn*, int64_t sid, uint64_t, uint64_t n, void* user,
                                     void*) {
      auto* self = static_cast<Session*>(user);
      if (sid == self->stream_id_) self->send_.Acked(n);
      return 0;
    };
    cb.get_new_connection_id = [](ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t n, void*) {
      cid->datalen = n;
      Random(cid->data, n);
      Random(token, NGTCP2_STATELESS_RESET_TOKENLEN);
      return 0;
    };
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = Now();
    settings.handshake_timeout =
        static_cast<uint64_t>(options_.handshake_timeout_ms) * NGTCP2_MILLISECONDS;
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_bidi = 0;
    params.initial_max_streams_uni = 0;
    params.initial_max_stream_data_bidi_local = 1 << 20;  // server frames on our stream
    params.initial_max_data = 1 << 20;
    params.max_idle_timeout = static_cast<uint64_t>(options_.idle_timeout_ms) * NGTCP2_MILLISECONDS;
    ngtcp2_cid dcid = RandomCid(), scid = RandomCid();
    ngtcp2_path path = Path();
    int rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                    &settings, &params, nullptr, this);
    if (rv != 0) return Internal(std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv));
    ref_ = {[](ngtcp2_crypto_conn_ref* r) { return static_cast<Session*>(r->user_data)->conn_; },
            this};
    // Something every 15 s while idle, so that a NAT keeps the UDP mapping
    // (often about 30 s) and the server's pushes still reach the client.
    ngtcp2_conn_set_keep_alive_timeout(conn_, 15 * NGTCP2_SECONDS);
    auto tls = NewClientSession(*creds_, host_, &ref_);
    if (!tls.ok()) return tls.status();
    tls_ = *tls;
    ngtcp2_conn_set_tls_native_handle(conn_, tls_);
    Receive();
    AfterIo();
    return Status::Ok();
  }

  // Callbacks may call Send and Close from inside ngtcp2_conn_read_pkt
  // (a message handler acking a push, or closing on a refused token), where
  // ngtcp2 must not be called again: then the write waits for the read to
  // return, and the close for the next turn of the loop.
  void Send(std::shared_ptr<const std::string> bytes, bool binary) {
    if (!open_ || ended_) return;
    send_.Add(binary ? RecordType::kBinary : RecordType::kText, std::move(bytes));
    if (!reading_) AfterIo();
  }

  // Ends the connection without callbacks.
  void Close() {
    if (ended_) return;
    ended_ = true;
    open_ = false;
    auto end = [self = shared_from_this()] {
      if (self->conn_) self->SendClose(kCloseNormal);
      self->Free();
    };
    if (reading_) {
      asio::post(socket_.get_executor(), std::move(end));
    } else {
      end();
    }
  }

 private:
  ngtcp2_path Path() {
    return {{const_cast<sockaddr*>(local_.data()), static_cast<ngtcp2_socklen>(local_.size())},
            {remote_.data(), static_cast<ngtcp2_socklen>(remote_.size())},
            nullptr};
  }

  void Receive() {
    socket_.async_receive(asio::buffer(rx_), [self = shared_from_this()](
                                                 const boost::system::error_code& ec, size_t n) {
      if (self->ended_ || ec == asio::error::operation_aborted) return;
      if (ec) return self->Fail(0, "udp: " + ec.message());
      ngtcp2_path path = self->Path();
      ngtcp2_pkt_info pi{};
      self->reading_ = true;
      int rv = ngtcp2_conn_read_pkt(self->conn_, &path, &pi, self->rx_.data(), n, Now());
      self->reading_ = false;
      if (self->ended_) return;  // closed from a callback
      if (rv != 0) return self->OnReadError(rv);
      self->AfterIo();
      if (!self->ended_) self->Receive();
    });
  }

  // After packets were read or frames queued: finish connecting, write, and
  // re-arm the timer.
  void AfterIo() {
    if (handshake_done_ && !open_ && !ended_) {
      if (!creds_->PeerMatchesPin(tls_))
        return Fail(0, "the server's certificate is not the pinned one");
      int rv = ngtcp2_conn_open_bidi_stream(conn_, &stream_id_, nullptr);
      if (rv != 0) return Fail(0, std::string("opening the stream: ") + ngtcp2_strerror(rv));
      send_.Add(RecordType::kToken, std::make_shared<const std::string>(std::move(token_)));
      open_ = true;
      events_.connected(Status::Ok());
      if (ended_) return;
    }
    WriteStreams();
    if (!ended_) ArmTimer();
  }

  void WriteStreams() {
    uint8_t buf[kMaxDatagram];
    bool blocked = false;
    for (int packets = 0; packets < 256 && !ended_; ++packets) {
      Span spans[16];
      size_t nspans = 0;
      if (stream_id_ >= 0 && !blocked) nspans = send_.Unsent(spans, 16);
      int64_t sid = nspans > 0 ? stream_id_ : -1;
      PathStorage ps;
      ngtcp2_pkt_info pi{};
      ngtcp2_ssize consumed = -1;
      ngtcp2_ssize n = ngtcp2_conn_writev_stream(
          conn_, &ps.path, &pi, buf, sizeof buf, &consumed, NGTCP2_WRITE_STREAM_FLAG_NONE, sid,
          reinterpret_cast<const ngtcp2_vec*>(spans), nspans, Now());
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR) {
        blocked = true;
        continue;
      }
      if (n < 0) return Fail(0, std::string("quic: ") + ngtcp2_strerror(static_cast<int>(n)));
      if (consumed > 0) send_.Sent(static_cast<size_t>(consumed));
      if (n == 0) break;
      boost::system::error_code ec;
      socket_.send(asio::buffer(buf, static_cast<size_t>(n)), 0, ec);
    }
    if (conn_) ngtcp2_conn_update_pkt_tx_time(conn_, Now());
  }

  void ArmTimer() {
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_), now = Now();
    if (expiry == UINT64_MAX) return;
    timer_.expires_after(std::chrono::nanoseconds(expiry > now ? expiry - now : 0));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->ended_) return;
      int rv = ngtcp2_conn_handle_expiry(self->conn_, Now());
      if (rv == NGTCP2_ERR_IDLE_CLOSE) return self->Fail(0, "quic: idle timeout");
      if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) return self->Fail(0, "quic: handshake timeout");
      if (rv != 0) return self->Fail(0, std::string("quic: ") + ngtcp2_strerror(rv));
      self->AfterIo();
    });
  }

  void OnStreamData(int64_t sid, const uint8_t* data, size_t n) {
    if (sid != stream_id_) return;
    ngtcp2_conn_extend_max_stream_offset(conn_, sid, n);
    ngtcp2_conn_extend_max_offset(conn_, n);
    reader_.Append(data, n);
    RecordType type;
    std::string_view payload;
    for (;;) {
      auto st = reader_.Next(type, payload);
      if (st == RecordReader::Status::kNeedMore) return;
      if (st != RecordReader::Status::kRecord) {
        close_code_ = kCloseProtocolError;  // reported when the connection ends
        return;
      }
      if (type == RecordType::kClose) {
        got_close_ = DecodeClosePayload(payload, close_code_, close_reason_);
        if (got_close_) return EndAfterCloseRecord();
      } else if (type != RecordType::kToken && open_) {
        events_.message(payload, type == RecordType::kBinary);
        if (ended_) return;
      }
    }
  }

  // The server's close record ends the connection here, on the next turn of
  // the loop (ngtcp2 must not be called from inside read_pkt): waiting for
  // its CONNECTION_CLOSE, which may be lost, could last until the idle
  // timeout. The server is told with a CONNECTION_CLOSE of the same code.
  void EndAfterCloseRecord() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->ended_ || self->conn_ == nullptr) return;
      self->SendClose(self->close_code_ != 0 ? self->close_code_ : kCloseNormal);
      self->Fail(self->close_code_, self->close_reason_);
    });
  }

  // read_pkt failed: the server closed (DRAINING) or the connection broke.
  void OnReadError(int rv) {
    uint16_t code = 0;
    std::string reason = std::string("quic: ") + ngtcp2_strerror(rv);
    ngtcp2_connection_close_error ccerr;
    ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
    if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
      code = static_cast<uint16_t>(ccerr.error_code);
      reason.assign(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
    }
    if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING) SendClose(kCloseProtocolError);
    Fail(code, reason);
  }

  void SendClose(uint16_t code) {
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_default(&ccerr);
    ngtcp2_connection_close_error_set_application_error(&ccerr, code, nullptr, 0);
    uint8_t buf[kMaxDatagram];
    PathStorage ps;
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize n =
        ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf, sizeof buf, &ccerr, Now());
    boost::system::error_code ec;
    if (n > 0) socket_.send(asio::buffer(buf, static_cast<size_t>(n)), 0, ec);
  }

  // The connection ended: the close record's code wins over CONNECTION_CLOSE's.
  void Fail(uint16_t code, std::string reason) {
    if (ended_) return;
    ended_ = true;
    if (got_close_) {
      code = close_code_;
      reason = close_reason_;
    }
    bool was_open = open_;
    Free();
    if (was_open) {
      events_.closed(code, reason);
    } else {
      events_.connected(IoError(reason.empty() ? "quic connection failed" : reason));
    }
  }

  void Free() {
    open_ = false;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    if (conn_) ngtcp2_conn_del(conn_);
    if (tls_) gnutls_deinit(tls_);
    conn_ = nullptr;
    tls_ = nullptr;
  }

  const QuicClientOptions& options_;
  std::shared_ptr<ClientCredentials> creds_;
  SessionEvents events_;
  udp::socket socket_;
  asio::steady_timer timer_;
  udp::endpoint local_, remote_;
  std::array<uint8_t, 65536> rx_{};
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  ngtcp2_crypto_conn_ref ref_{};
  int64_t stream_id_ = -1;
  RecordReader reader_;
  SendBuffer send_;
  std::string token_;
  std::string host_;  // outlives tls_, which verifies the certificate against it
  bool handshake_done_ = false, open_ = false, ended_ = false, got_close_ = false;
  bool reading_ = false;  // inside ngtcp2_conn_read_pkt
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

class QuicClientTransport final : public ClientTransport {
 public:
  QuicClientTransport(ClientTransportCallbacks callbacks, QuicClientOptions options)
      : callbacks_(std::move(callbacks)),
        options_(std::move(options)),
        guard_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}
  ~QuicClientTransport() override { Shutdown(); }

  void Connect(const std::string& host, uint16_t port, const std::string& target,
               std::function<void(Status)> done) override {
    Drop();
    uint64_t gen = ++generation_;
    if (!creds_) {
      auto creds = ClientCredentials::Load({options_.pinned_cert_file, options_.insecure});
      if (!creds.ok()) return Post([done, st = creds.status()] { done(st); });
      creds_ = *creds;
    }
    auto resolver = std::make_shared<udp::resolver>(io_);
    resolver->async_resolve(
        host, std::to_string(port),
        [this, gen, host, target, done, resolver](const boost::system::error_code& ec,
                                                  udp::resolver::results_type results) {
          if (gen != generation_) return;
          if (ec || results.empty()) return done(IoError("resolve " + host + ": " + ec.message()));
          session_ = std::make_shared<Session>(io_, options_, creds_, Events(gen, done));
          Status st = session_->Start(results.begin()->endpoint(), host, TokenFromTarget(target));
          if (!st.ok() && gen == generation_) {
            Drop();
            done(st);
          }
        });
  }

  void Send(std::shared_ptr<const std::string> bytes, bool binary) override {
    if (session_) session_->Send(std::move(bytes), binary);
  }

  void Close() override {
    ++generation_;
    Drop();
  }

  void Post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  void After(int64_t ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  }

  void Shutdown() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      ++generation_;
      Drop();
      io_.stop();
    });
    thread_.join();
  }

 private:
  SessionEvents Events(uint64_t gen, std::function<void(Status)> done) {
    return {[this, gen, done](Status st) {
              if (gen != generation_) return;
              if (!st.ok()) Retire();
              done(st);
            },
            [this, gen](std::string_view data, bool binary) {
              if (gen == generation_) callbacks_.on_message(data, binary);
            },
            [this, gen](uint16_t code, const std::string& reason) {
              if (gen != generation_) return;
              ++generation_;
              Retire();
              callbacks_.on_closed(code, reason);
            }};
  }

  void Drop() {
    if (session_) session_->Close();
    Retire();
  }

  // Lets go of the session after the call in progress (which may be one of
  // its own) has returned.
  void Retire() {
    if (session_) asio::post(io_, [s = std::move(session_)] {});
  }

  ClientTransportCallbacks callbacks_;
  const QuicClientOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::shared_ptr<ClientCredentials> creds_;
  std::shared_ptr<Session> session_;
  uint64_t generation_ = 0;
  std::thread thread_;  // last: starts after everything else is built
};

}  // namespace

std::unique_ptr<ClientTransport> MakeQuicClientTransport(ClientTransportCallbacks callbacks,
                                                         QuicClientOptions options) {
  return std::make_unique<QuicClientTransport>(std::move(callbacks), std::move(options));
}

}  // namespace flare
