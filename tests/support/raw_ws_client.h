// A raw WebSocket client over a blocking TCP socket, for conformance tests
// of a server: it writes exactly the bytes a test asks for (masked or not,
// any opcode, reserved bits, any length form) and reads frames back as
// they are. Reads give up after a few seconds so a missing answer fails
// the test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace flare::testing {

struct RawFrame {
  bool fin = false;
  uint8_t opcode = 0;
  std::string payload;
  size_t header_bytes = 0;  // the server's length form: 2, 4 or 10
};

class RawWsClient {
 public:
  // `source`: the loopback address to connect from (another client, as
  // far as per-address limits go); the kernel's choice when null.
  explicit RawWsClient(uint16_t port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &from.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
    }
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawWsClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  bool connected() const { return connected_; }

  bool WriteRaw(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  static std::string Request(const std::string& target = "/ws",
                             const std::string& extra_headers = "",
                             const std::string& key = "dGhlIHNhbXBsZSBub25jZQ==") {
    return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n" +
           "Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
  }

  // The response head (through the blank line), or empty when none came.
  std::string ReadResponseHead() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (::recv(fd_, &c, 1, 0) != 1) return head;
      head.push_back(c);
    }
    return head;
  }

  // Handshake with the default request; true on a 101.
  bool Open(const std::string& target = "/ws", const std::string& extra = "") {
    if (!connected_ || !WriteRaw(Request(target, extra))) return false;
    return ReadResponseHead().rfind("HTTP/1.1 101", 0) == 0;
  }

  // A client frame: masked unless told otherwise; `rsv` goes to bits 4-6.
  static std::string Frame(uint8_t opcode, const std::string& payload, bool fin = true,
                           bool mask = true, uint8_t rsv = 0) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
    uint8_t m = mask ? 0x80 : 0;
    uint64_t n = payload.size();
    if (n <= 125) {
      out.push_back(static_cast<char>(m | n));
    } else if (n <= 0xFFFF) {
      out.push_back(static_cast<char>(m | 126));
      out.push_back(static_cast<char>(n >> 8));
      out.push_back(static_cast<char>(n & 0xFF));
    } else {
      out.push_back(static_cast<char>(m | 127));
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    }
    const uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
    if (mask) out.append(reinterpret_cast<const char*>(key), 4);
    for (size_t i = 0; i < payload.size(); ++i) {
      out.push_back(static_cast<char>(payload[i] ^ (mask ? key[i & 3] : 0)));
    }
    return out;
  }

  bool Send(uint8_t opcode, const std::string& payload, bool fin = true) {
    return WriteRaw(Frame(opcode, payload, fin));
  }

  // True when the server has closed the connection (end of stream or a
  // reset) before sending anything; false if bytes came or the read timed out.
  bool ClosedByServer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // The next server frame; nullopt on end of stream, error or timeout.
  std::optional<RawFrame> ReadFrame() {
    uint8_t h[2];
    if (!ReadExact(h, 2)) return std::nullopt;
    RawFrame f;
    f.fin = (h[0] & 0x80) != 0;
    f.opcode = h[0] & 0x0F;
    if ((h[0] & 0x70) != 0 || (h[1] & 0x80) != 0) return std::nullopt;  // servers never do
    uint64_t n = h[1] & 0x7F;
    f.header_bytes = 2;
    if (n == 126) {
      uint8_t e[2];
      if (!ReadExact(e, 2)) return std::nullopt;
      n = (uint64_t{e[0]} << 8) | e[1];
      f.header_bytes = 4;
    } else if (n == 127) {
      uint8_t e[8];
      if (!ReadExact(e, 8)) return std::nullopt;
      n = 0;
      for (uint8_t b : e) n = (n << 8) | b;
      f.header_bytes = 10;
    }
    f.payload.resize(n);
    if (n > 0 && !ReadExact(reinterpret_cast<uint8_t*>(f.payload.data()), n)) return std::nullopt;
    return f;
  }

  // The close code of the next frame if it is a close frame (0: no code,
  // -1: not a close frame or none came).
  int ReadCloseCode() {
    auto f = ReadFrame();
    if (!f || f->opcode != 0x8) return -1;
    if (f->payload.size() < 2) return 0;
    return (static_cast<uint8_t>(f->payload[0]) << 8) | static_cast<uint8_t>(f->payload[1]);
  }

  // Skips what remains (an error answer's body); true when the server then
  // hung up rather than leaving the connection open.
  bool ReadToEnd() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }

  // True when the server hung up (end of stream) rather than timing out.
  bool AtEnd() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  bool ReadExact(uint8_t* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::recv(fd_, p + done, n - done, 0);
      if (r <= 0) return false;
      done += static_cast<size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace flare::testing
