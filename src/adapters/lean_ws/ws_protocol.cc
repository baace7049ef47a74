#include "adapters/lean_ws/ws_protocol.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstring>

#include "common/handshake_token.h"

namespace flare::lean_ws {

HeaderParse ParseFrameHeader(const uint8_t* p, size_t n, uint64_t max_payload, FrameHeader& h) {
  if (n < 2) return HeaderParse::kNeedMore;
  h.fin = (p[0] & 0x80) != 0;
  h.opcode = p[0] & 0x0F;
  if ((p[0] & 0x70) != 0) return HeaderParse::kProtocolError;  // no extension negotiated
  bool control = (h.opcode & 0x08) != 0;
  bool known = h.opcode <= kBinary || (h.opcode >= kClose && h.opcode <= kPong);
  if (!known) return HeaderParse::kProtocolError;
  if ((p[1] & 0x80) == 0) return HeaderParse::kProtocolError;  // clients must mask
  uint8_t len7 = p[1] & 0x7F;
  if (control && (!h.fin || len7 > 125)) return HeaderParse::kProtocolError;
  size_t at = 2;
  if (len7 == 126) {
    if (n < 4) return HeaderParse::kNeedMore;
    h.length = (uint64_t{p[2]} << 8) | p[3];
    at = 4;
  } else if (len7 == 127) {
    if (n < 10) return HeaderParse::kNeedMore;
    h.length = 0;
    for (int i = 0; i < 8; ++i) h.length = (h.length << 8) | p[2 + i];
    if (h.length >> 63) return HeaderParse::kProtocolError;
    at = 10;
  } else {
    h.length = len7;
  }
  if (h.length > max_payload) return HeaderParse::kTooBig;
  if (n < at + 4) return HeaderParse::kNeedMore;
  std::memcpy(h.mask, p + at, 4);
  h.header_bytes = at + 4;
  return HeaderParse::kOk;
}

void Unmask(uint8_t* p, size_t n, const uint8_t mask[4]) {
  // Eight bytes at a time: the key repeats every four bytes.
  uint8_t key8[8];
  for (int i = 0; i < 8; ++i) key8[i] = mask[i & 3];
  uint64_t k;
  std::memcpy(&k, key8, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= k;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] ^= mask[i & 3];
}

size_t EncodeFrameHeader(uint8_t out[10], uint8_t opcode, uint64_t length) {
  out[0] = static_cast<uint8_t>(0x80 | opcode);
  if (length <= 125) {
    out[1] = static_cast<uint8_t>(length);
    return 2;
  }
  if (length <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(length >> 8);
    out[3] = static_cast<uint8_t>(length);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
  return 10;
}

bool Utf8Validator::Feed(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint8_t b = p[i];
    if (need_ > 0) {
      if (b < lo_ || b > hi_) return false;
      --need_;
      lo_ = 0x80;
      hi_ = 0xBF;
      continue;
    }
    if (b < 0x80) continue;
    // The first byte fixes the length and the range of the second byte
    // (which is where overlong forms, surrogates and > U+10FFFF show).
    if (b >= 0xC2 && b <= 0xDF) {
      need_ = 1;
    } else if (b == 0xE0) {
      need_ = 2, lo_ = 0xA0;
    } else if (b == 0xED) {
      need_ = 2, hi_ = 0x9F;
    } else if (b >= 0xE1 && b <= 0xEF) {
      need_ = 2;
    } else if (b == 0xF0) {
      need_ = 3, lo_ = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      need_ = 3;
    } else if (b == 0xF4) {
      need_ = 3, hi_ = 0x8F;
    } else {
      return false;
    }
  }
  return true;
}

bool ValidUtf8(std::string_view s) {
  Utf8Validator v;
  return v.Feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()) && v.complete();
}

bool ValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseRequestLine(std::string_view line, UpgradeRequest& out) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!IsTokenChar(c)) return false;
  }
  for (char c : target) {
    if (c <= ' ' || c == 0x7F) return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
  out.method = method;
  out.target = target;
  return version == "HTTP/1.1";  // the upgrade needs HTTP/1.1
}

bool ParseHeaderLine(std::string_view line, UpgradeRequest& out) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : line.substr(0, colon)) {
    if (!IsTokenChar(c)) return false;
  }
  std::string_view value = Trim(line.substr(colon + 1));
  for (char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  std::string name = Lower(line.substr(0, colon));
  if (name == "host") {
    out.host = value;
  } else if (name == "connection") {
    out.connection += Lower(value) + ",";
  } else if (name == "upgrade") {
    out.upgrade += Lower(value) + ",";
  } else if (name == "sec-websocket-key") {
    if (out.has_key) return false;  // a repeated key is ambiguous
    out.key = value;
    out.has_key = true;
  } else if (name == "sec-websocket-version") {
    out.version = value;
    out.has_version = true;
  } else if (name == "authorization") {
    out.authorization = value;
  } else if (name == "transfer-encoding" || (name == "content-length" && value != "0")) {
    out.has_body = true;
  }
  return true;
}

// A comma-separated header value holds `token` (case already lowered).
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (Trim(list.substr(0, comma)) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool ValidKey(std::string_view key) {
  // Base64 of 16 bytes: 22 characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return true;
}

std::string TokenOf(const UpgradeRequest& req) {
  return HandshakeToken(req.target, req.authorization);
}

std::string ErrorResponse(std::string_view status, std::string_view body,
                          std::string_view extra_headers = {}) {
  return "HTTP/1.1 " + std::string(status) +
         "\r\nContent-Type: text/plain\r\nConnection: close\r\n" + std::string(extra_headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace

RequestParse ParseUpgradeRequest(std::string_view data, size_t max_bytes, UpgradeRequest& out,
                                 size_t& consumed) {
  auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return data.size() > max_bytes ? RequestParse::kTooLarge : RequestParse::kNeedMore;
  }
  if (end + 4 > max_bytes) return RequestParse::kTooLarge;
  std::string_view head = data.substr(0, end + 2);  // each line ends in CRLF
  auto eol = head.find("\r\n");
  if (!ParseRequestLine(head.substr(0, eol), out)) return RequestParse::kBad;
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos ||
        !ParseHeaderLine(line, out)) {
      return RequestParse::kBad;
    }
    head.remove_prefix(eol + 2);
  }
  consumed = end + 4;
  return RequestParse::kDone;
}

std::string AcceptKey(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input = std::string(key) + std::string(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char out[32];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string AnswerUpgrade(const UpgradeRequest& req, bool& accepted, std::string& token) {
  accepted = false;
  std::string_view target = req.target;
  bool upgrade = req.method == "GET" && HasToken(req.connection, "upgrade") &&
                 HasToken(req.upgrade, "websocket");
  if (target.substr(0, target.find('?')) != "/ws" || !upgrade) {
    return ErrorResponse("404 Not Found", "WebSocket endpoint is /ws\n");
  }
  if (req.has_body) return BadRequestResponse("an upgrade request has no body\n");
  if (req.host.empty()) return BadRequestResponse("no Host\n");
  if (!req.has_key) return BadRequestResponse("no Sec-WebSocket-Key\n");
  if (!ValidKey(req.key)) return BadRequestResponse("bad Sec-WebSocket-Key\n");
  if (!req.has_version) return BadRequestResponse("no Sec-WebSocket-Version\n");
  if (req.version != "13") {
    return ErrorResponse("426 Upgrade Required", "bad Sec-WebSocket-Version\n",
                         "Sec-WebSocket-Version: 13\r\n");
  }
  accepted = true;
  token = TokenOf(req);
  // No Sec-WebSocket-Extensions: permessage-deflate is never negotiated.
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         AcceptKey(req.key) + "\r\n\r\n";
}

std::string BadRequestResponse(std::string_view why) {
  return ErrorResponse("400 Bad Request", why);
}

}  // namespace flare::lean_ws
