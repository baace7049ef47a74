#include "adapters/quic/quic_server_conn.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <initializer_list>

#include "adapters/quic/quic_ngtcp2.h"

namespace flare::quic {

namespace asio = boost::asio;

ServerConn::ServerConn(ServerContext* ctx, std::shared_ptr<asio::io_context> io, uint64_t id,
                       std::string remote)
    : ctx_(ctx),
      io_(std::move(io)),
      id_(id),
      remote_(std::move(remote)),
      timer_(*io_),
      reader_(ctx->options().max_frame_bytes) {}

ServerConn::~ServerConn() {
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(tls_);
}

// --- the thread-safe half ---------------------------------------------------

size_t ServerConn::Send(std::shared_ptr<const std::string> bytes, bool binary) {
  std::vector<std::shared_ptr<const std::string>> one{std::move(bytes)};
  return SendMany(one, binary);
}

size_t ServerConn::SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) {
  bool wake;
  size_t queued;
  {
    std::lock_guard lock(mu_);
    if (close_requested_ || finished_) return Queued(inbox_bytes_);
    for (auto& f : frames) {
      inbox_bytes_ += f->size();
      inbox_.push_back({std::move(f), binary});
    }
    wake = !wake_pending_;
    wake_pending_ = true;
    queued = Queued(inbox_bytes_);
  }
  if (wake) Wake();
  return queued;
}

void ServerConn::Close(uint16_t code, std::string reason) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (close_requested_ || finished_) return;
    close_requested_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) Wake();
}

void ServerConn::Wake() {
  asio::post(*io_, [self = shared_from_this()] { self->Flush(); });
}

// --- I/O thread -------------------------------------------------------------

ngtcp2_conn* ServerConn::GetConn(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<ServerConn*>(ref->user_data)->conn_;
}

Status ServerConn::Init(const ngtcp2_pkt_hd& hd, const ngtcp2_path& path) {
  const auto& opt = ctx_->options();
  ngtcp2_callbacks cb{};
  SetCryptoCallbacks(cb);
  cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  cb.recv_stream_data = OnRecvStreamData;
  cb.stream_open = OnStreamOpen;
  cb.acked_stream_data_offset = OnAcked;
  cb.stream_close = OnStreamClose;
  cb.get_new_connection_id = OnNewCid;
  cb.remove_connection_id = OnRemoveCid;

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = Now();
  settings.handshake_timeout =
      static_cast<uint64_t>(opt.handshake_timeout_ms) * NGTCP2_MILLISECONDS;
  uint64_t window =
      std::max<uint64_t>(opt.receive_window_bytes, 2 * (opt.max_frame_bytes + kRecordHeaderBytes));
  settings.max_window = window;
  settings.max_stream_window = window;

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  // One bidirectional stream from the client, nothing else.
  params.initial_max_streams_bidi = 1;
  params.initial_max_streams_uni = 0;
  params.initial_max_stream_data_bidi_remote = window;
  params.initial_max_data = window;
  params.max_idle_timeout = static_cast<uint64_t>(opt.idle_timeout_ms) * NGTCP2_MILLISECONDS;
  params.original_dcid = hd.dcid;

  ngtcp2_cid scid = RandomCid();
  params.stateless_reset_token_present = 1;
  ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, ctx_->reset_secret(),
                                               kResetSecretBytes, &scid);
  int rv = ngtcp2_conn_server_new(&conn_, &hd.scid, &scid, &path, hd.version, &cb, &settings,
                                  &params, nullptr, this);
  if (rv != 0) return Internal(std::string("ngtcp2_conn_server_new: ") + ngtcp2_strerror(rv));
  ref_ = {GetConn, this};
  auto tls = NewServerSession(ctx_->credentials(), &ref_);
  if (!tls.ok()) return tls.status();
  tls_ = *tls;
  ngtcp2_conn_set_tls_native_handle(conn_, tls_);
  // Until our id reaches the client it keeps addressing its own choice.
  for (const ngtcp2_cid* cid : std::initializer_list<const ngtcp2_cid*>{&scid, &hd.dcid}) {
    cids_.push_back(CidKey(*cid));
    ctx_->AddCid(cids_.back(), shared_from_this());
  }
  deadline_ = Now() + static_cast<uint64_t>(opt.handshake_timeout_ms) * NGTCP2_MILLISECONDS;
  return Status::Ok();
}

void ServerConn::OnPacket(const ngtcp2_path& path, const uint8_t* data, size_t n) {
  if (dropped_) return;
  ngtcp2_pkt_info pi{};
  int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, data, n, Now());
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_DROP_CONN) return Drop(true);
  if (rv != 0) return CloseWithError(rv);
  if (stream_closed_ && !close_queued_) {  // the client reset or finished the stream
    return CloseNow(kCloseNormal, "");
  }
  Flush();
}

void ServerConn::Flush() {
  if (dropped_) return;
  std::vector<Outgoing> frames;
  bool close;
  {
    std::lock_guard lock(mu_);
    wake_pending_ = false;
    frames.swap(inbox_);
    // Counted as buffered before they leave the inbox, so a concurrent
    // Send never sees them in neither.
    buffered_bytes_ += inbox_bytes_;
    inbox_bytes_ = 0;
    close = close_requested_;
    if (close && !close_queued_) {
      queued_close_code_ = close_code_;
      queued_close_reason_ = close_reason_;
    }
  }
  if (stream_id_ >= 0 && !close_queued_) {
    for (auto& f : frames) {
      send_.Add(f.binary ? RecordType::kBinary : RecordType::kText, std::move(f.bytes));
    }
  }
  if (close && !close_queued_) {
    close_queued_ = true;
    reading_ = false;
    if (stream_id_ >= 0) {
      send_.Add(RecordType::kClose, std::make_shared<const std::string>(EncodeClosePayload(
                                        queued_close_code_, queued_close_reason_)));
    }
    deadline_ =
        Now() + static_cast<uint64_t>(ctx_->options().close_linger_ms) * NGTCP2_MILLISECONDS;
  }
  buffered_bytes_ = send_.unacked_bytes();
  WriteStreams();
  if (dropped_) return;
  // Everything up to the close record was acknowledged: close now.
  if (close_queued_ && (stream_id_ < 0 || (fin_sent_ && send_.unacked_bytes() == 0))) {
    return CloseNow(queued_close_code_, queued_close_reason_);
  }
  ArmTimer();
}

void ServerConn::WriteStreams() {
  uint8_t buf[kMaxDatagram];
  bool stream_blocked = false;
  for (int packets = 0; packets < 256; ++packets) {
    Span spans[16];
    size_t nspans = 0;
    int64_t sid = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_NONE;
    if (stream_id_ >= 0 && !stream_blocked && !fin_sent_) {
      nspans = send_.Unsent(spans, 16);
      bool fin = close_queued_ && send_.unsent_bytes() <= SpanBytes(spans, nspans);
      if (nspans > 0 || fin) sid = stream_id_;
      if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    PathStorage ps;
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize consumed = -1;
    ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf, sizeof buf, &consumed, flags, sid,
                                  reinterpret_cast<const ngtcp2_vec*>(spans), nspans, Now());
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
          n == NGTCP2_ERR_STREAM_NOT_FOUND) {
        stream_blocked = true;
        continue;
      }
      return CloseWithError(static_cast<int>(n));
    }
    if (consumed >= 0) {
      send_.Sent(static_cast<size_t>(consumed));
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && send_.unsent_bytes() == 0) fin_sent_ = true;
    }
    if (n == 0) break;
    ctx_->SendDatagram(ps.path.remote, buf, static_cast<size_t>(n));
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, Now());
}

void ServerConn::ArmTimer() {
  ngtcp2_tstamp expiry = std::min(ngtcp2_conn_get_expiry(conn_), deadline_);
  if (expiry == UINT64_MAX) {
    timer_.cancel();
    return;
  }
  ngtcp2_tstamp now = Now();
  timer_.expires_after(std::chrono::nanoseconds(expiry > now ? expiry - now : 0));
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->OnTimer();
  });
}

void ServerConn::OnTimer() {
  if (dropped_) return;
  ngtcp2_tstamp now = Now();
  if (now >= deadline_) {
    // The close linger ran out, or the token record did not come.
    if (close_queued_) return CloseNow(queued_close_code_, queued_close_reason_);
    return CloseNow(kClosePolicy, "no token record in time");
  }
  int rv = ngtcp2_conn_handle_expiry(conn_, now);
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) return Drop(true);
  if (rv != 0) return CloseWithError(rv);
  WriteStreams();
  if (!dropped_) ArmTimer();
}

void ServerConn::SendClosePacket(const ngtcp2_connection_close_error& ccerr) {
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return;
  uint8_t buf[kMaxDatagram];
  PathStorage ps;
  ngtcp2_pkt_info pi{};
  ngtcp2_ssize n =
      ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf, sizeof buf, &ccerr, Now());
  if (n > 0) ctx_->SendDatagram(ps.path.remote, buf, static_cast<size_t>(n));
}

// Ends the connection with CONNECTION_CLOSE carrying the close code as the
// application error code (the client also got the close record, if the
// stream was open and the peer kept up). The closing period is not kept:
// a lost CONNECTION_CLOSE leaves the client to its idle timeout.
void ServerConn::CloseNow(uint16_t code, const std::string& reason) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  std::string text = reason.substr(0, kMaxCloseReasonBytes);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, code, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  SendClosePacket(ccerr);
  Drop(true);
}

void ServerConn::CloseWithError(int liberr) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  if (liberr == NGTCP2_ERR_CRYPTO) {
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ccerr, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
  } else {
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, nullptr, 0);
  }
  spdlog::debug("quic connection {}: {}", id_, ngtcp2_strerror(liberr));
  SendClosePacket(ccerr);
  Drop(true);
}

void ServerConn::Drop(bool notify) {
  if (dropped_) return;
  dropped_ = true;
  handshaking_.Release();
  {
    std::lock_guard lock(mu_);
    finished_ = true;
    inbox_.clear();
    inbox_bytes_ = 0;
  }
  buffered_bytes_ = 0;
  timer_.cancel();
  auto self = shared_from_this();  // the listener's map may hold the last reference
  for (const auto& cid : cids_) ctx_->RemoveCid(cid);
  cids_.clear();
  // The gateway may keep the Connection a while: free the QUIC state now.
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(tls_);
  conn_ = nullptr;
  tls_ = nullptr;
  send_ = SendBuffer();
  if (opened_ && notify) ctx_->handler()->OnClose(self);
}

// --- records ----------------------------------------------------------------

void ServerConn::OnStreamData(int64_t stream_id, const uint8_t* data, size_t n, bool fin) {
  if (stream_id != stream_id_) return;
  // What was read no longer counts against the client's window.
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  if (!reading_) return;
  reader_.Append(data, n);
  RecordType type;
  std::string_view payload;
  for (;;) {
    switch (reader_.Next(type, payload)) {
      case RecordReader::Status::kRecord:
        OnRecord(type, payload);
        if (!reading_) return;
        continue;
      case RecordReader::Status::kNeedMore:
        if (fin) StopReading(kCloseNormal, "");
        return;
      case RecordReader::Status::kTooBig:
        return StopReading(kCloseTooBig, "frame over the size limit");
      case RecordReader::Status::kBadType:
        return StopReading(kCloseProtocolError, "unknown record type");
    }
  }
}

void ServerConn::OnRecord(RecordType type, std::string_view payload) {
  if (!opened_) {
    if (type != RecordType::kToken) {
      return StopReading(kCloseProtocolError, "the first record must be the token");
    }
    opened_ = true;
    handshaking_.Release();
    if (!close_queued_) deadline_ = UINT64_MAX;
    ctx_->handler()->OnOpen(shared_from_this(), std::string(payload));
    return;
  }
  switch (type) {
    case RecordType::kText:
    case RecordType::kBinary:
      ctx_->handler()->OnFrame(shared_from_this(), payload, type == RecordType::kBinary);
      return;
    case RecordType::kClose: {  // answered like a WebSocket close: the same code back
      uint16_t code = kCloseNormal;
      std::string reason;
      DecodeClosePayload(payload, code, reason);
      return StopReading(code, "");
    }
    case RecordType::kToken:
      return StopReading(kCloseProtocolError, "a second token record");
  }
}

void ServerConn::StopReading(uint16_t code, const char* reason) {
  reading_ = false;
  Close(code, reason);
}

// --- ngtcp2 callbacks (inside ngtcp2 calls: no ngtcp2 writes here) ----------

int ServerConn::OnRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t,
                                 const uint8_t* data, size_t n, void* user, void*) {
  static_cast<ServerConn*>(user)->OnStreamData(stream_id, data, n,
                                               flags & NGTCP2_STREAM_DATA_FLAG_FIN);
  return 0;
}

int ServerConn::OnStreamOpen(ngtcp2_conn*, int64_t stream_id, void* user) {
  auto* self = static_cast<ServerConn*>(user);
  if (self->stream_id_ < 0) self->stream_id_ = stream_id;
  return 0;
}

int ServerConn::OnAcked(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t n, void* user, void*) {
  auto* self = static_cast<ServerConn*>(user);
  if (stream_id == self->stream_id_) {
    self->send_.Acked(n);
    self->buffered_bytes_ = self->send_.unacked_bytes();
  }
  return 0;
}

int ServerConn::OnStreamClose(ngtcp2_conn*, uint32_t, int64_t stream_id, uint64_t, void* user,
                              void*) {
  auto* self = static_cast<ServerConn*>(user);
  if (stream_id == self->stream_id_) self->stream_closed_ = true;
  return 0;
}

int ServerConn::OnNewCid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t n, void* user) {
  auto* self = static_cast<ServerConn*>(user);
  cid->datalen = n;
  Random(cid->data, n);
  ngtcp2_crypto_generate_stateless_reset_token(token, self->ctx_->reset_secret(), kResetSecretBytes,
                                               cid);
  self->cids_.push_back(CidKey(*cid));
  self->ctx_->AddCid(self->cids_.back(), self->shared_from_this());
  return 0;
}

int ServerConn::OnRemoveCid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
  auto* self = static_cast<ServerConn*>(user);
  std::string key = CidKey(*cid);
  self->ctx_->RemoveCid(key);
  std::erase(self->cids_, key);
  return 0;
}

}  // namespace flare::quic
