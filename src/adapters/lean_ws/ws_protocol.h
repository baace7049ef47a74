// RFC 6455 pieces with no I/O: frame headers, unmasking, UTF-8 validation,
// close codes and the opening handshake's request parser and answers.
// Pure functions, unit-tested alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flare::lean_ws {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct FrameHeader {
  bool fin = false;
  uint8_t opcode = 0;
  uint64_t length = 0;
  uint8_t mask[4] = {};
  size_t header_bytes = 0;
};

enum class HeaderParse { kOk, kNeedMore, kProtocolError, kTooBig };

// Parses a client frame's header from `n` bytes. kProtocolError: reserved
// bits or opcode, an unmasked frame, a fragmented or long control frame, a
// 64-bit length with its top bit set. kTooBig: the payload exceeds
// `max_payload`. Errors are reported as soon as the bytes that show them
// are in.
HeaderParse ParseFrameHeader(const uint8_t* p, size_t n, uint64_t max_payload, FrameHeader& h);

// XORs the payload with the masking key in place.
void Unmask(uint8_t* p, size_t n, const uint8_t mask[4]);

// Writes an unmasked server frame header (FIN set) to `out`; its length.
size_t EncodeFrameHeader(uint8_t out[10], uint8_t opcode, uint64_t length);

// Incremental UTF-8 validation (rejects overlong forms, surrogates and
// code points above U+10FFFF), fed fragment by fragment.
class Utf8Validator {
 public:
  bool Feed(const uint8_t* p, size_t n);        // false: invalid so far
  bool complete() const { return need_ == 0; }  // no sequence cut short

 private:
  uint8_t need_ = 0;
  uint8_t lo_ = 0x80, hi_ = 0xBF;  // the range of the next continuation byte
};
bool ValidUtf8(std::string_view s);

// Codes a peer may send in a close frame.
bool ValidCloseCode(uint16_t code);

// The opening handshake's request, as far as a WebSocket server needs it.
struct UpgradeRequest {
  std::string method;
  std::string target;
  std::string host;
  std::string connection;
  std::string upgrade;
  std::string key;
  std::string version;
  std::string authorization;
  bool has_version = false;
  bool has_key = false;
  bool has_body = false;  // Content-Length other than 0, or Transfer-Encoding
};

enum class RequestParse { kDone, kNeedMore, kBad, kTooLarge };

// Parses an HTTP/1.1 request head strictly: "METHOD SP target SP
// HTTP/1.x", then "name: value" lines ending in CRLF, no folding. kDone
// sets `consumed` to the head's length (bytes after it are frames).
RequestParse ParseUpgradeRequest(std::string_view data, size_t max_bytes, UpgradeRequest& out,
                                 size_t& consumed);

// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
std::string AcceptKey(std::string_view key);

// The answer to an upgrade request: a 101 with `accepted` true, or the
// complete error response. `token` gets the token from `?token=` or
// `Authorization: Bearer`.
std::string AnswerUpgrade(const UpgradeRequest& req, bool& accepted, std::string& token);

// The complete answer to a request that could not be parsed.
std::string BadRequestResponse(std::string_view why);

}  // namespace flare::lean_ws
