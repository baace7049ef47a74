// The lean session's write side: queued messages go out as one frame each
// batch, written with one gathered write (the header bytes, then the shared
// payloads, never copied per recipient); pongs and the close frame go out
// between batches.
#include <boost/asio/write.hpp>

#include "adapters/lean_ws/ws_session.h"

namespace flare::lean_ws {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {
constexpr size_t kKeepEnvelope = 4096;  // an idle connection keeps at most this much
}  // namespace

void Session::WriteNext() {
  if (writing_ || close_written_ || state_ == State::kHandshake || state_ == State::kDone) return;
  if (pong_) {
    auto pong = std::move(pong_);
    return WriteControl(kPong, *pong, false);
  }
  WriteQueue::CloseRequest close;
  switch (writes_.TakeNext(in_flight_, in_flight_binary_, close)) {
    case WriteQueue::Next::kIdle:
      return;
    case WriteQueue::Next::kClose: {
      std::string payload;
      if (close.code != 0) {  // 0: the peer's close had no code, nor has ours
        payload.push_back(static_cast<char>(close.code >> 8));
        payload.push_back(static_cast<char>(close.code & 0xFF));
        payload += close.reason.substr(0, 123);
      }
      return WriteControl(kClose, payload, true);
    }
    case WriteQueue::Next::kWrite:
      break;
  }
  BuildBuffers();
  writing_ = true;
  asio::async_write(socket_, buffers_, [self = shared_from_this()](error_code ec, size_t) {
    self->writing_ = false;
    self->writes_.WriteCompleted();
    self->in_flight_.clear();
    if (self->envelope_.capacity() > kKeepEnvelope) {
      self->envelope_ = {};
      self->buffers_ = {};
    }
    if (ec) return self->Finish();
    self->WriteNext();
  });
}

// buffers_ = the frame header, then the frames alone or with the batching
// envelope around them: one WebSocket message per batch.
void Session::BuildBuffers() {
  buffers_.clear();
  buffers_.emplace_back();  // the header, once the length is known
  size_t length = 0;
  const FrameBatching& batching = thread_->options->batching;
  if (in_flight_.size() == 1) {
    buffers_.push_back(asio::buffer(*in_flight_[0]));
    length = in_flight_[0]->size();
  } else {
    // Envelope bytes live in one string reserved up front so the buffers
    // pointing into it stay valid.
    envelope_.clear();
    envelope_.reserve(in_flight_.size() * 16 + 16);
    for (size_t i = 0; i < in_flight_.size(); ++i) {
      size_t at = envelope_.size();
      batching.before(envelope_, i, in_flight_[i]->size(), in_flight_binary_);
      buffers_.push_back(asio::buffer(envelope_.data() + at, envelope_.size() - at));
      buffers_.push_back(asio::buffer(*in_flight_[i]));
    }
    size_t tail = envelope_.size();
    if (batching.after) batching.after(envelope_, in_flight_binary_);
    if (envelope_.size() > tail) {
      buffers_.push_back(asio::buffer(envelope_.data() + tail, envelope_.size() - tail));
    }
    length = envelope_.size();
    for (const auto& frame : in_flight_) length += frame->size();
  }
  size_t n = EncodeFrameHeader(header_.data(), in_flight_binary_ ? kBinary : kText, length);
  buffers_[0] = asio::buffer(header_.data(), n);
}

void Session::WriteControl(uint8_t opcode, std::string_view payload, bool is_close) {
  envelope_.resize(10);
  size_t n =
      EncodeFrameHeader(reinterpret_cast<uint8_t*>(envelope_.data()), opcode, payload.size());
  envelope_.resize(n);
  envelope_.append(payload);
  writing_ = true;
  if (is_close) close_written_ = true;  // no frame may follow it
  asio::async_write(socket_, asio::buffer(envelope_),
                    [self = shared_from_this(), is_close](error_code ec, size_t) {
                      self->writing_ = false;
                      if (is_close) return self->OnCloseWritten(ec);
                      if (ec) return self->Finish();
                      self->WriteNext();
                    });
}

// Our close frame is out. If the peer's close came already, the handshake is
// done and the server closes the TCP connection first (RFC 6455 7.1.1);
// otherwise the peer has kCloseTimeout to answer or hang up.
void Session::OnCloseWritten(error_code ec) {
  if (ec || peer_closed_) return Finish();
  if (state_ == State::kOpen) state_ = State::kClosing;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  StartTimer(kCloseTimeout);
}

void Session::Finish() {
  if (finished_.exchange(true)) return;
  writes_.Finish();
  state_ = State::kDone;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  timer_.reset();
  handshake_.reset();
  partial_.reset();
  pong_.reset();
  if (opened_ && !thread_->options->echo) thread_->handler->OnClose(shared_from_this());
}

}  // namespace flare::lean_ws
