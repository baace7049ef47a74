// The lean session's read side: frames parsed in place in the I/O thread's
// buffer (unmasked there and handed over without a copy when whole), with
// a per-connection buffer only for a frame cut short or a fragmented
// message, freed once drained.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/lean_ws/ws_session.h"

namespace flare::lean_ws {

Session::Partial& Session::partial() {
  if (!partial_) partial_ = std::make_unique<Partial>();
  return *partial_;
}

void Session::TidyPartial() {
  if (partial_ && partial_->bytes.empty() && partial_->opcode == 0) partial_.reset();
}

// The fragments so far; the bytes being parsed stay (they may be the
// caller's buffer).
void Session::DropMessage() {
  if (!partial_) return;
  partial_->message = {};
  partial_->opcode = 0;
}

void Session::OnFrameBytes(uint8_t* data, size_t n) {
  if (partial_ && !partial_->bytes.empty()) {
    size_t taken = CompletePartial(data, n);
    data += taken;
    n -= taken;
  }
  if (n > 0 && Reading()) {  // the rest is parsed where it lies
    size_t used = ConsumeFrames(data, n);
    if (used < n && Reading()) KeepPartial(data + used, n - used);
  }
  if (!Reading()) partial_.reset();  // after a protocol error nothing more is parsed
  TidyPartial();
}

// Copies into the connection's buffer what completes the frame cut short
// (all of `n` while even its header is incomplete) and parses it there;
// the bytes taken.
size_t Session::CompletePartial(const uint8_t* data, size_t n) {
  // Parsed from a string of its own: a frame handled here may finish the
  // session, which frees partial_.
  std::string bytes = std::move(partial_->bytes);
  partial_->bytes = {};
  size_t take = n;
  FrameHeader h;
  if (ParseFrameHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                       thread_->options->max_frame_bytes, h) == HeaderParse::kOk) {
    take = std::min<size_t>(n, h.header_bytes + h.length - bytes.size());
  }
  bytes.append(reinterpret_cast<const char*>(data), take);
  size_t used = ConsumeFrames(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  if (used < bytes.size() && partial_ && Reading()) {  // still cut short: kept
    bytes.erase(0, used);
    partial_->bytes = std::move(bytes);
  }
  return take;
}

void Session::KeepPartial(const uint8_t* p, size_t n) {
  auto& bytes = partial().bytes;
  FrameHeader h;
  // Room for the whole frame at once when its header is in (its length is
  // within max_frame_bytes, or the header parse would have failed).
  if (ParseFrameHeader(p, n, thread_->options->max_frame_bytes, h) == HeaderParse::kOk) {
    bytes.reserve(h.header_bytes + h.length);
  }
  bytes.assign(reinterpret_cast<const char*>(p), n);
}

size_t Session::ConsumeFrames(uint8_t* p, size_t n) {
  size_t used = 0;
  const uint64_t max = thread_->options->max_frame_bytes;
  while (used < n && Reading()) {
    FrameHeader h;
    switch (ParseFrameHeader(p + used, n - used, max, h)) {
      case HeaderParse::kNeedMore:
        return used;
      case HeaderParse::kProtocolError:
        Fail(1002);
        return used;
      case HeaderParse::kTooBig:
        Fail(1009);
        return used;
      case HeaderParse::kOk:
        break;
    }
    if (n - used < h.header_bytes + h.length) return used;
    uint8_t* payload = p + used + h.header_bytes;
    Unmask(payload, h.length, h.mask);
    used += h.header_bytes + h.length;
    if (h.opcode & 0x08) {
      OnControlFrame(h.opcode, payload, h.length);
    } else {
      OnDataFrame(h, payload);
    }
  }
  return used;
}

void Session::OnDataFrame(const FrameHeader& h, uint8_t* payload) {
  if (state_ != State::kOpen || close_requested_) return;  // after a close: data is ignored
  bool continuation = h.opcode == kContinuation;
  uint8_t current = partial_ ? partial_->opcode : 0;
  if (continuation == (current == 0)) return Fail(1002);  // no message to continue, or one open
  uint8_t opcode = continuation ? current : h.opcode;
  bool text = opcode == kText;
  size_t so_far = partial_ ? partial_->message.size() : 0;
  if (so_far + h.length > thread_->options->max_frame_bytes) return Fail(1009);
  if (h.fin && !continuation) {  // a whole message: handed over from where it lies
    std::string_view message(reinterpret_cast<const char*>(payload), h.length);
    if (text && !ValidUtf8(message)) return Fail(1007);
    return Deliver(message, !text);
  }
  auto& part = partial();
  if (!continuation) {
    part.opcode = opcode;
    part.utf8 = {};
  }
  if (text && !part.utf8.Feed(payload, h.length)) return Fail(1007);  // fail fast
  part.message.append(reinterpret_cast<const char*>(payload), h.length);
  if (!h.fin) return;
  if (text && !part.utf8.complete()) return Fail(1007);
  std::string message = std::move(part.message);
  part.message = {};
  part.opcode = 0;
  Deliver(message, !text);
}

void Session::Deliver(std::string_view message, bool binary) {
  if (thread_->options->echo) {
    Send(std::make_shared<const std::string>(message), binary);
  } else {
    thread_->handler->OnFrame(shared_from_this(), message, binary);
  }
}

void Session::OnControlFrame(uint8_t opcode, const uint8_t* payload, size_t n) {
  if (opcode == kPong) return;  // unsolicited or not: nothing to do
  if (opcode == kPing) {
    if (state_ != State::kOpen) return;
    // One pong owed at a time: answering the latest ping is enough.
    pong_ = std::make_unique<std::string>(reinterpret_cast<const char*>(payload), n);
    return WriteNext();
  }
  // A close frame: validate it, then answer with the same code.
  if (state_ == State::kClosing) {  // the answer to ours, or a second one
    peer_closed_ = true;
    if (close_written_) Finish();
    return;
  }
  uint16_t code = 0;
  if (n == 1) return Fail(1002);
  if (n >= 2) {
    code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
    if (!ValidCloseCode(code)) return Fail(1002);
    std::string_view reason(reinterpret_cast<const char*>(payload) + 2, n - 2);
    if (!ValidUtf8(reason)) return Fail(1007);
  }
  peer_closed_ = true;
  state_ = State::kClosing;
  DropMessage();
  if (writes_.RequestClose(code, {})) WriteNext();
  OnCloseRequested();
}

void Session::Fail(uint16_t code) {
  spdlog::debug("connection {}: WebSocket protocol error, closing with {}", id_, code);
  state_ = State::kFailed;
  DropMessage();
  if (writes_.RequestClose(code, {})) WriteNext();
  OnCloseRequested();
}

}  // namespace flare::lean_ws
