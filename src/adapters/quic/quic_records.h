// The records Flare carries on its one QUIC stream (ALPN "flare/1", see
// docs/protocol.md): a 4-byte big-endian payload length, a type byte, then
// the payload. The first record from the client is kToken; then client and
// server frames (kText/kBinary, the bytes a WebSocket message would carry);
// kClose ends the session with a WebSocket-style code and reason.
//
// RecordReader reassembles records from stream data; SendBuffer keeps the
// records handed to the stream until the peer acknowledged them (ngtcp2
// reads them again on retransmission). Both belong to one I/O thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace flare::quic {

inline constexpr char kAlpn[] = "flare/1";
inline constexpr size_t kRecordHeaderBytes = 5;
inline constexpr size_t kMaxTokenBytes = 16 * 1024;
inline constexpr size_t kMaxCloseReasonBytes = 123;

enum class RecordType : uint8_t { kToken = 0, kText = 1, kBinary = 2, kClose = 3 };

// Application error codes in CONNECTION_CLOSE are the close codes (1000,
// 1008, 4001, ...); these are the ones the transport itself uses.
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kClosePolicy = 1008;
inline constexpr uint16_t kCloseTooBig = 1009;

std::string EncodeRecordHeader(RecordType type, size_t payload_bytes);
std::string EncodeClosePayload(uint16_t code, std::string_view reason);
// False when the payload is shorter than its 2-byte code.
bool DecodeClosePayload(std::string_view payload, uint16_t& code, std::string& reason);

class RecordReader {
 public:
  // Frames larger than max_frame_bytes are refused (kTooBig).
  explicit RecordReader(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  enum class Status { kRecord, kNeedMore, kTooBig, kBadType };
  // Appends stream bytes; call Next until it stops returning kRecord.
  void Append(const uint8_t* data, size_t n) {
    buffer_.append(reinterpret_cast<const char*>(data), n);
  }
  // On kRecord, `type` and `payload` (valid until the next Append/Next)
  // describe the next record.
  Status Next(RecordType& type, std::string_view& payload);
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  size_t consumed_ = 0;
  const size_t max_frame_bytes_;
};

// A contiguous piece of bytes the stream may still need (ngtcp2_vec layout).
struct Span {
  const uint8_t* data;
  size_t size;
};

inline size_t SpanBytes(const Span* spans, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += spans[i].size;
  return total;
}

class SendBuffer {
 public:
  void Add(RecordType type, std::shared_ptr<const std::string> payload);
  // Up to `max` spans of the bytes not yet handed to the stream.
  size_t Unsent(Span* out, size_t max) const;
  void Sent(size_t n);   // n more bytes were handed to the stream
  void Acked(size_t n);  // the peer acknowledged the next n bytes
  size_t unsent_bytes() const { return total_ - sent_; }
  size_t unacked_bytes() const { return total_ - acked_; }

 private:
  struct Piece {
    char header[kRecordHeaderBytes];
    std::shared_ptr<const std::string> payload;
    size_t size() const { return kRecordHeaderBytes + payload->size(); }
  };
  std::deque<Piece> pieces_;  // from the first byte not yet acknowledged
  size_t front_acked_ = 0;    // bytes of pieces_.front() acknowledged
  size_t sent_piece_ = 0;     // index in pieces_ of the first unsent byte
  size_t sent_offset_ = 0;    // and its offset in that piece
  size_t total_ = 0, sent_ = 0, acked_ = 0;
};

}  // namespace flare::quic
