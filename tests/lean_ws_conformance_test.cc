// RFC 6455 server conformance of the lean WebSocket transport, in the
// manner of the Autobahn test suite's cases: a raw client writes exact
// bytes and checks the server's frames, close codes and hang-ups.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "adapters/lean_ws/lean_ws.h"
#include "services/signaling/gateway/transport.h"
#include "support/loopback_transport.h"
#include "support/raw_ws_client.h"

namespace flare {
namespace {

using testing::RawWsClient;

constexpr size_t kMaxFrame = 128 * 1024;

// Echoes every message; "please-close" makes the server close with 4000.
class EchoHandler final : public ConnectionHandler {
 public:
  void OnOpen(const std::shared_ptr<Connection>&, std::string token) override {
    std::lock_guard lock(mu_);
    tokens_.push_back(std::move(token));
  }
  void OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data,
               bool binary) override {
    if (data == "please-close") return conn->Close(4000, "bye");
    conn->Send(std::make_shared<const std::string>(data), binary);
  }
  void OnClose(const std::shared_ptr<Connection>&) override {
    std::lock_guard lock(mu_);
    ++closes_;
    cv_.notify_all();
  }
  bool WaitCloses(int n, std::chrono::seconds within = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, within, [&] { return closes_ >= n; });
  }
  int closes() {
    std::lock_guard lock(mu_);
    return closes_;
  }
  std::string last_token() {
    std::lock_guard lock(mu_);
    return tokens_.empty() ? "<none>" : tokens_.back();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> tokens_;
  int closes_ = 0;
};

class LeanWsConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    TransportOptions o = testing::LoopbackTransportOptions(2);
    o.max_frame_bytes = kMaxFrame;
    transport_ = MakeLeanTransport(o, &handler_, testing::EmptyHttpHandler());
    ASSERT_TRUE(transport_->Start().ok());
    port_ = transport_->ws_port();
  }
  void TearDown() override { transport_->Stop(); }

  // Sends `frames` on a fresh connection and expects the close `code` back,
  // then the server hanging up.
  void ExpectCloseAfter(const std::string& bytes, int code) {
    RawWsClient c(port_);
    ASSERT_TRUE(c.Open());
    ASSERT_TRUE(c.WriteRaw(bytes));
    EXPECT_EQ(c.ReadCloseCode(), code);
    EXPECT_TRUE(c.AtEnd());
  }

  // Sends one message and expects it echoed in one frame.
  void ExpectEcho(uint8_t opcode, const std::string& payload, size_t header_bytes) {
    RawWsClient c(port_);
    ASSERT_TRUE(c.Open());
    ASSERT_TRUE(c.Send(opcode, payload));
    auto f = c.ReadFrame();
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(f->fin);
    EXPECT_EQ(f->opcode, opcode);
    EXPECT_EQ(f->payload, payload);
    EXPECT_EQ(f->header_bytes, header_bytes);
  }

  EchoHandler handler_;
  std::unique_ptr<Transport> transport_;
  uint16_t port_ = 0;
};

using F = RawWsClient;

TEST_F(LeanWsConformance, AcceptKeyOfTheRfcExample) {
  RawWsClient c(port_);
  ASSERT_TRUE(c.WriteRaw(F::Request()));
  std::string head = c.ReadResponseHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Sec-WebSocket-Extensions"), std::string::npos);  // no deflate
}

TEST_F(LeanWsConformance, HandshakeErrors) {
  auto status_of = [&](const std::string& request) {
    RawWsClient c(port_);
    c.WriteRaw(request);
    std::string head = c.ReadResponseHead();
    EXPECT_TRUE(c.ReadToEnd());
    return head.substr(0, head.find("\r\n"));
  };
  EXPECT_EQ(status_of(F::Request("/other")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_of("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404 Not Found");
  std::string no_key =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
  EXPECT_EQ(status_of(no_key), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of(F::Request("/ws", "", "short")), "HTTP/1.1 400 Bad Request");
  std::string no_version =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  EXPECT_EQ(status_of(no_version), "HTTP/1.1 400 Bad Request");
  std::string v8 = no_version.substr(0, no_version.size() - 2) + "Sec-WebSocket-Version: 8\r\n\r\n";
  EXPECT_EQ(status_of(v8), "HTTP/1.1 426 Upgrade Required");
  EXPECT_EQ(status_of("GET /ws HTTP/1.1\r\nbad header line\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of("GET  /ws HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of(F::Request("/ws", "X-Big: " + std::string(9000, 'a') + "\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(handler_.closes(), 0);  // never opened
}

TEST_F(LeanWsConformance, WrongVersionNamesTheSupportedOne) {
  RawWsClient c(port_);
  std::string req = F::Request();
  req.replace(req.find("Version: 13"), 11, "Version: 7");
  c.WriteRaw(req);
  EXPECT_NE(c.ReadResponseHead().find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST_F(LeanWsConformance, TokenFromQueryOrBearerHeader) {
  {
    RawWsClient c(port_);
    ASSERT_TRUE(c.Open("/ws?a=1&token=abc"));
    ASSERT_TRUE(c.Send(0x1, "x"));  // the echo proves OnOpen ran
    ASSERT_TRUE(c.ReadFrame().has_value());
    EXPECT_EQ(handler_.last_token(), "abc");
  }
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open("/ws", "Authorization: Bearer xyz\r\n"));
  ASSERT_TRUE(c.Send(0x1, "x"));
  ASSERT_TRUE(c.ReadFrame().has_value());
  EXPECT_EQ(handler_.last_token(), "xyz");
}

TEST_F(LeanWsConformance, PayloadLengthForms) {
  for (size_t n : {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    SCOPED_TRACE(n);
    size_t header = n <= 125 ? 2 : n <= 65535 ? 4 : 10;
    ExpectEcho(0x1, std::string(n, '*'), header);
    std::string binary(n, '\0');
    for (size_t i = 0; i < n; ++i) binary[i] = static_cast<char>(i * 7);
    ExpectEcho(0x2, binary, header);
  }
}

TEST_F(LeanWsConformance, FramesSplitIntoSingleBytesAndPipelined) {
  RawWsClient c(port_);
  // The first frame rides with the request; the second comes a byte at a time.
  ASSERT_TRUE(c.WriteRaw(F::Request() + F::Frame(0x1, "early")));
  ASSERT_EQ(c.ReadResponseHead().rfind("HTTP/1.1 101", 0), 0u);
  std::string frame = F::Frame(0x2, std::string(300, 'b'));
  for (char ch : frame) ASSERT_TRUE(c.WriteRaw(std::string(1, ch)));
  auto first = c.ReadFrame();
  auto second = c.ReadFrame();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->payload, "early");
  EXPECT_EQ(second->payload, std::string(300, 'b'));
}

TEST_F(LeanWsConformance, ManyFramesInOneWrite) {
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  std::string bytes;
  for (int i = 0; i < 100; ++i) bytes += F::Frame(0x1, "m" + std::to_string(i));
  ASSERT_TRUE(c.WriteRaw(bytes));
  for (int i = 0; i < 100; ++i) {
    auto f = c.ReadFrame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->payload, "m" + std::to_string(i));
  }
}

// A burst larger than the reads of one readiness event (4 × 64 KiB) is
// read whole, the rest after the thread's other sessions.
TEST_F(LeanWsConformance, BurstLargerThanOneReadinessEvent) {
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  std::string bytes;
  for (int i = 0; i < 40; ++i) bytes += F::Frame(0x2, std::string(16 * 1024, static_cast<char>(i)));
  ASSERT_TRUE(c.WriteRaw(bytes));
  for (int i = 0; i < 40; ++i) {
    auto f = c.ReadFrame();
    ASSERT_TRUE(f.has_value()) << i;
    EXPECT_EQ(f->payload, std::string(16 * 1024, static_cast<char>(i)));
  }
}

TEST_F(LeanWsConformance, PingGetsPongWithItsPayload) {
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  for (size_t n : {size_t{0}, size_t{10}, size_t{125}}) {
    std::string payload(n, 'p');
    ASSERT_TRUE(c.Send(0x9, payload));
    auto f = c.ReadFrame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->opcode, 0xA);
    EXPECT_EQ(f->payload, payload);
  }
  ASSERT_TRUE(c.Send(0xA, "unsolicited"));  // ignored: the next frame is the echo
  ASSERT_TRUE(c.Send(0x1, "after"));
  auto f = c.ReadFrame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->opcode, 0x1);
  EXPECT_EQ(f->payload, "after");
}

TEST_F(LeanWsConformance, ControlFrameRules) {
  ExpectCloseAfter(F::Frame(0x9, std::string(126, 'p')), 1002);  // longer than 125
  ExpectCloseAfter(F::Frame(0x9, "p", /*fin=*/false), 1002);     // fragmented
}

TEST_F(LeanWsConformance, ReservedBitsAndOpcodes) {
  for (uint8_t rsv : {1, 2, 4, 7}) ExpectCloseAfter(F::Frame(0x1, "x", true, true, rsv), 1002);
  for (uint8_t op : {0x3, 0x7, 0xB, 0xF}) ExpectCloseAfter(F::Frame(op, "x"), 1002);
}

TEST_F(LeanWsConformance, UnmaskedClientFrame) {
  ExpectCloseAfter(F::Frame(0x1, "x", true, /*mask=*/false), 1002);
}

TEST_F(LeanWsConformance, FragmentedMessageWithInterleavedPing) {
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  ASSERT_TRUE(c.WriteRaw(F::Frame(0x1, "frag", false) + F::Frame(0x9, "mid") +
                         F::Frame(0x0, "men", false) + F::Frame(0x0, "ted", true)));
  auto pong = c.ReadFrame();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->opcode, 0xA);
  EXPECT_EQ(pong->payload, "mid");
  auto f = c.ReadFrame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->opcode, 0x1);
  EXPECT_EQ(f->payload, "fragmented");
}

TEST_F(LeanWsConformance, FragmentationErrors) {
  ExpectCloseAfter(F::Frame(0x0, "orphan"), 1002);  // continuation without a start
  ExpectCloseAfter(F::Frame(0x1, "a", false) + F::Frame(0x1, "b"), 1002);  // new start
  ExpectCloseAfter(F::Frame(0x2, "a", false) + F::Frame(0x1, "b", false), 1002);
}

TEST_F(LeanWsConformance, Utf8ValidAndSplitAcrossFragments) {
  ExpectEcho(0x1, "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 2);  // κόσμε
  ExpectEcho(0x1, "\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF", 2);             // U+1F600, U+10FFFF
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  // U+1F600 cut inside the sequence, across three fragments.
  ASSERT_TRUE(c.WriteRaw(F::Frame(0x1, "a\xF0\x9F", false) + F::Frame(0x0, "\x98", false) +
                         F::Frame(0x0, "\x80z")));
  auto f = c.ReadFrame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->payload, "a\xF0\x9F\x98\x80z");
}

TEST_F(LeanWsConformance, Utf8Invalid) {
  for (const char* bad :
       {"\xFF", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xCE", "a\x80"}) {
    SCOPED_TRACE(bad);
    ExpectCloseAfter(F::Frame(0x1, bad), 1007);
  }
  ExpectCloseAfter(F::Frame(0x1, "ok\xED", false) + F::Frame(0x0, "\xA0\x80"), 1007);
  ExpectCloseAfter(F::Frame(0x1, "ok\xCE", false) + F::Frame(0x0, ""), 1007);  // cut short
}

TEST_F(LeanWsConformance, ValidCloseCodesAreEchoed) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999}) {
    SCOPED_TRACE(code);
    std::string payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    ExpectCloseAfter(F::Frame(0x8, payload + "reason \xCE\xBA"), code);
  }
  ExpectCloseAfter(F::Frame(0x8, ""), 0);  // no code: none in the answer
}

TEST_F(LeanWsConformance, InvalidCloseFrames) {
  for (int code : {0, 999, 1004, 1005, 1006, 1012, 1016, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    std::string payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    ExpectCloseAfter(F::Frame(0x8, payload), 1002);
  }
  ExpectCloseAfter(F::Frame(0x8, "\x03"), 1002);                          // a 1-byte payload
  ExpectCloseAfter(F::Frame(0x8, std::string("\x03\xE8\xFF", 3)), 1007);  // reason not UTF-8
}

TEST_F(LeanWsConformance, OversizeMessages) {
  ExpectCloseAfter(F::Frame(0x2, std::string(kMaxFrame + 1, 'x')), 1009);
  std::string half(kMaxFrame / 2 + 1, 'x');
  ExpectCloseAfter(F::Frame(0x2, half, false) + F::Frame(0x0, half), 1009);
}

TEST_F(LeanWsConformance, ServerCloseWaitsForTheAnswer) {
  int before = handler_.closes();
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  ASSERT_TRUE(c.Send(0x1, "please-close"));
  auto f = c.ReadFrame();
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->opcode, 0x8);
  EXPECT_EQ(f->payload, std::string("\x0F\xA0", 2) + "bye");  // 4000
  ASSERT_TRUE(c.Send(0x8, std::string("\x0F\xA0", 2)));
  EXPECT_TRUE(c.AtEnd());
  EXPECT_TRUE(handler_.WaitCloses(before + 1));
}

// The peer's answer to our close arrives in two pieces: the first is kept
// as a frame cut short, the second completes it and ends the session.
TEST_F(LeanWsConformance, ServerCloseAnsweredInPieces) {
  int before = handler_.closes();
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  ASSERT_TRUE(c.Send(0x1, "please-close"));
  auto f = c.ReadFrame();
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->opcode, 0x8);
  std::string answer = F::Frame(0x8, std::string("\x0F\xA0", 2) + "bye");
  ASSERT_TRUE(c.WriteRaw(answer.substr(0, 3)));
  ASSERT_TRUE(c.WriteRaw(answer.substr(3)));
  EXPECT_TRUE(c.AtEnd());
  EXPECT_TRUE(handler_.WaitCloses(before + 1));
  EXPECT_EQ(handler_.closes(), before + 1);
}

// A client that never reads: the close frame waits behind megabytes the
// server cannot write, yet the session ends within the close deadline
// instead of holding its memory and descriptor for ever.
TEST_F(LeanWsConformance, AClientThatNeverReadsIsClosedAnyway) {
  int before = handler_.closes();
  RawWsClient c(port_);
  ASSERT_TRUE(c.Open());
  std::string big(100 * 1024, 'x');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.Send(0x2, big));  // 20 MB echoed, never read
  ASSERT_TRUE(c.Send(0x1, "please-close"));
  EXPECT_EQ(handler_.closes(), before);
  // A failure detector: without a deadline the session never ends.
  EXPECT_TRUE(handler_.WaitCloses(before + 1, std::chrono::seconds(30)));
}

TEST_F(LeanWsConformance, PeerHangUpEndsTheConnection) {
  int before = handler_.closes();
  {
    RawWsClient c(port_);
    ASSERT_TRUE(c.Open());
  }
  EXPECT_TRUE(handler_.WaitCloses(before + 1));
}

TEST(LeanWsSession, StaysSmall) {
  // Beast's websocket::stream alone was ~2.5 KiB; the whole session is far less.
  EXPECT_LE(LeanWsSessionSize(), 512u);
  std::printf("sizeof(lean_ws::Session) = %zu\n", LeanWsSessionSize());
}

}  // namespace
}  // namespace flare
