// The record layer of the QUIC transport (adapters/quic/quic_records.h):
// reassembly from arbitrary stream pieces, limits, and the send buffer's
// sent/acknowledged bookkeeping.
#include "adapters/quic/quic_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flare::quic {
namespace {

std::string Record(RecordType type, const std::string& payload) {
  return EncodeRecordHeader(type, payload.size()) + payload;
}

void Feed(RecordReader& reader, const std::string& bytes) {
  reader.Append(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(QuicRecords, ReassemblesRecordsSplitAnywhere) {
  std::string stream = Record(RecordType::kToken, "tok") + Record(RecordType::kText, "hello") +
                       Record(RecordType::kBinary, std::string(3000, 'b'));
  for (size_t piece : {size_t{1}, size_t{4}, size_t{7}, size_t{1500}}) {
    RecordReader reader(4096);
    std::vector<std::pair<RecordType, std::string>> got;
    for (size_t at = 0; at < stream.size(); at += piece) {
      Feed(reader, stream.substr(at, piece));
      RecordType type;
      std::string_view payload;
      while (reader.Next(type, payload) == RecordReader::Status::kRecord) {
        got.emplace_back(type, std::string(payload));
      }
    }
    ASSERT_EQ(got.size(), 3u) << "piece " << piece;
    EXPECT_EQ(got[0], std::make_pair(RecordType::kToken, std::string("tok")));
    EXPECT_EQ(got[1], std::make_pair(RecordType::kText, std::string("hello")));
    EXPECT_EQ(got[2].second, std::string(3000, 'b'));
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(QuicRecords, RefusesOversizeFramesFromTheHeaderAlone) {
  RecordReader reader(100);
  Feed(reader, EncodeRecordHeader(RecordType::kBinary, 101));
  RecordType type;
  std::string_view payload;
  EXPECT_EQ(reader.Next(type, payload), RecordReader::Status::kTooBig);
  RecordReader exact(100);
  Feed(exact, Record(RecordType::kBinary, std::string(100, 'x')));
  EXPECT_EQ(exact.Next(type, payload), RecordReader::Status::kRecord);
}

TEST(QuicRecords, RefusesUnknownTypes) {
  RecordReader reader(100);
  std::string bad = EncodeRecordHeader(RecordType::kText, 1) + "x";
  bad[4] = 9;
  Feed(reader, bad);
  RecordType type;
  std::string_view payload;
  EXPECT_EQ(reader.Next(type, payload), RecordReader::Status::kBadType);
}

TEST(QuicRecords, ClosePayloadCarriesCodeAndReason) {
  uint16_t code = 0;
  std::string reason;
  ASSERT_TRUE(DecodeClosePayload(EncodeClosePayload(4001, "bad token"), code, reason));
  EXPECT_EQ(code, 4001);
  EXPECT_EQ(reason, "bad token");
  EXPECT_FALSE(DecodeClosePayload("x", code, reason));
  EXPECT_EQ(EncodeClosePayload(1000, std::string(500, 'r')).size(), 2 + kMaxCloseReasonBytes);
}

std::string Gather(const SendBuffer& buffer) {
  Span spans[64];
  size_t n = buffer.Unsent(spans, 64);
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out.append(reinterpret_cast<const char*>(spans[i].data), spans[i].size);
  return out;
}

TEST(QuicRecords, SendBufferKeepsBytesUntilAcknowledged) {
  SendBuffer buffer;
  buffer.Add(RecordType::kText, std::make_shared<const std::string>("abc"));
  buffer.Add(RecordType::kBinary, std::make_shared<const std::string>("defgh"));
  std::string all = Record(RecordType::kText, "abc") + Record(RecordType::kBinary, "defgh");
  EXPECT_EQ(Gather(buffer), all);
  EXPECT_EQ(buffer.unacked_bytes(), all.size());

  buffer.Sent(6);  // into the first payload
  EXPECT_EQ(Gather(buffer), all.substr(6));
  buffer.Sent(5);  // into the second header
  EXPECT_EQ(Gather(buffer), all.substr(11));
  EXPECT_EQ(buffer.unsent_bytes(), all.size() - 11);

  buffer.Acked(8);  // the first record leaves
  EXPECT_EQ(buffer.unacked_bytes(), all.size() - 8);
  EXPECT_EQ(Gather(buffer), all.substr(11)) << "acks do not move the send position";
  buffer.Sent(all.size() - 11);
  EXPECT_EQ(buffer.unsent_bytes(), 0u);
  EXPECT_EQ(Gather(buffer), "");
  buffer.Acked(all.size() - 8);
  EXPECT_EQ(buffer.unacked_bytes(), 0u);

  buffer.Add(RecordType::kText, std::make_shared<const std::string>("z"));
  EXPECT_EQ(Gather(buffer), Record(RecordType::kText, "z"));
}

}  // namespace
}  // namespace flare::quic
