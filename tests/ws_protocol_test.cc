// The lean WebSocket server's pure pieces (frame headers, UTF-8, close
// codes, the upgrade request) and the transport's selection by name.
#include <gtest/gtest.h>

#include <cstdint>

#include "adapters/lean_ws/ws_protocol.h"
#include "common/config.h"
#include "services/signaling/gateway/transport.h"

namespace flare::lean_ws {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> b) { return {b.begin(), b.end()}; }

TEST(WsProtocol, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsProtocol, HeaderNeedsAllItsBytes) {
  // FIN, binary, masked, 16-bit length 300, key 1 2 3 4.
  auto b = Bytes({0x82, 0xFE, 0x01, 0x2C, 1, 2, 3, 4});
  FrameHeader h;
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_EQ(ParseFrameHeader(b.data(), n, 1000, h), HeaderParse::kNeedMore) << n;
  }
  ASSERT_EQ(ParseFrameHeader(b.data(), b.size(), 1000, h), HeaderParse::kOk);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, kBinary);
  EXPECT_EQ(h.length, 300u);
  EXPECT_EQ(h.header_bytes, 8u);
  EXPECT_EQ(ParseFrameHeader(b.data(), b.size(), 299, h), HeaderParse::kTooBig);
}

TEST(WsProtocol, HeaderErrorsShowEarly) {
  FrameHeader h;
  auto unmasked = Bytes({0x81, 0x05});
  EXPECT_EQ(ParseFrameHeader(unmasked.data(), 2, 100, h), HeaderParse::kProtocolError);
  auto rsv = Bytes({0xC1, 0x85});
  EXPECT_EQ(ParseFrameHeader(rsv.data(), 2, 100, h), HeaderParse::kProtocolError);
  auto top_bit = Bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(ParseFrameHeader(top_bit.data(), 10, UINT64_MAX, h), HeaderParse::kProtocolError);
}

TEST(WsProtocol, EncodesTheShortestLengthForm) {
  uint8_t out[10];
  EXPECT_EQ(EncodeFrameHeader(out, kText, 125), 2u);
  EXPECT_EQ(EncodeFrameHeader(out, kText, 126), 4u);
  EXPECT_EQ(out[1], 126);
  EXPECT_EQ(EncodeFrameHeader(out, kText, 65535), 4u);
  EXPECT_EQ(EncodeFrameHeader(out, kBinary, 65536), 10u);
  EXPECT_EQ(out[0], 0x82);
  EXPECT_EQ(out[7], 0x01);  // 65536 = 0x00..010000
}

TEST(WsProtocol, UnmaskIsItsOwnInverse) {
  std::string text = "a payload longer than eight bytes, with a tail";
  std::string copy = text;
  const uint8_t key[4] = {9, 200, 33, 7};
  Unmask(reinterpret_cast<uint8_t*>(copy.data()), copy.size(), key);
  EXPECT_NE(copy, text);
  EXPECT_EQ(static_cast<uint8_t>(copy[5]), static_cast<uint8_t>(text[5]) ^ key[1]);
  Unmask(reinterpret_cast<uint8_t*>(copy.data()), copy.size(), key);
  EXPECT_EQ(copy, text);
}

TEST(WsProtocol, Utf8ValidationAcrossPieces) {
  EXPECT_TRUE(ValidUtf8("plain \xCE\xBA\xF0\x9F\x98\x80"));
  EXPECT_FALSE(ValidUtf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(ValidUtf8("\xED\xBF\xBF"));      // surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ValidUtf8("\xE2\x82"));          // cut short
  Utf8Validator v;
  const uint8_t a[] = {'x', 0xF0, 0x9F};
  const uint8_t b[] = {0x98, 0x80};
  EXPECT_TRUE(v.Feed(a, sizeof a));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.Feed(b, sizeof b));
  EXPECT_TRUE(v.complete());
}

TEST(WsProtocol, CloseCodes) {
  for (int c : {1000, 1003, 1007, 1011, 3000, 4999}) EXPECT_TRUE(ValidCloseCode(c)) << c;
  for (int c : {0, 999, 1004, 1005, 1006, 1012, 2999, 5000}) EXPECT_FALSE(ValidCloseCode(c)) << c;
}

TEST(WsProtocol, UpgradeRequestParsedStrictly) {
  std::string req =
      "GET /ws?token=t HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, "
      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  UpgradeRequest out;
  size_t consumed = 0;
  EXPECT_EQ(ParseUpgradeRequest(req.substr(0, req.size() - 1), 8192, out, consumed),
            RequestParse::kNeedMore);
  ASSERT_EQ(ParseUpgradeRequest(req + "frame", 8192, out, consumed), RequestParse::kDone);
  EXPECT_EQ(consumed, req.size());
  bool accepted = false;
  std::string token;
  std::string answer = AnswerUpgrade(out, accepted, token);
  EXPECT_TRUE(accepted);
  EXPECT_EQ(token, "t");
  EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u);

  UpgradeRequest other;
  EXPECT_EQ(ParseUpgradeRequest("GET /ws HTTP/1.0\r\n\r\n", 8192, other, consumed),
            RequestParse::kBad);
  EXPECT_EQ(ParseUpgradeRequest("GET /ws HTTP/1.1\r\nA\nB: c\r\n\r\n", 8192, other, consumed),
            RequestParse::kBad);
  EXPECT_EQ(ParseUpgradeRequest(std::string(9000, 'a'), 8192, other, consumed),
            RequestParse::kTooLarge);
}

TEST(TransportFactory, UnknownNameIsAnError) {
  auto t = MakeTransport("quantum", TransportOptions{}, nullptr, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("quantum"), std::string::npos);
  EXPECT_TRUE(MakeTransport("lean", TransportOptions{}, nullptr, nullptr).ok());
  EXPECT_TRUE(MakeTransport("beast", TransportOptions{}, nullptr, nullptr).ok());
}

TEST(TransportFactory, ConfigDefaultsToLeanAndRefusesOtherNames) {
  auto config = LoadConfig("", {});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->ws_transport, "lean");
  auto beast = LoadConfig("", {{"FLARE_SERVER_WS_TRANSPORT", "beast"}});
  ASSERT_TRUE(beast.ok());
  EXPECT_EQ(beast->ws_transport, "beast");
  auto bad = LoadConfig("", {{"FLARE_SERVER_WS_TRANSPORT", "uring"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("FLARE_SERVER_WS_TRANSPORT"), std::string::npos);
}

}  // namespace
}  // namespace flare::lean_ws
