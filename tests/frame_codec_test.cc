#include "services/signaling/gateway/frame_codec.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

// What the transport does with queued frames: envelope bytes around the
// already-encoded frames, no re-encoding.
std::string Envelope(const std::vector<std::string>& frames, bool binary) {
  std::string out;
  for (size_t i = 0; i < frames.size(); ++i) {
    AppendBatchPrefix(out, i, frames[i].size(), binary);
    out += frames[i];
  }
  AppendBatchSuffix(out, binary);
  return out;
}

class BatchEnvelope : public ::testing::TestWithParam<Encoding> {};

TEST_P(BatchEnvelope, DecodesAsOneFrameCarryingEveryFrameInOrder) {
  Encoding encoding = GetParam();
  std::vector<std::string> frames;
  for (int seq = 1; seq <= 3; ++seq) {
    pb::ServerFrame f;
    auto* m = f.mutable_push()->add_messages();
    m->set_seq(seq);
    m->mutable_content()->set_text(std::string(seq * 100, 'x'));  // lengths over one varint byte
    frames.push_back(EncodeFrame(f, encoding));
  }
  pb::ServerFrame ack;
  ack.set_request_id("r9");
  ack.mutable_send_ack()->set_seq(7);
  frames.push_back(EncodeFrame(ack, encoding));

  auto decoded = DecodeServerFrame(Envelope(frames, encoding == Encoding::kBinary), encoding);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->batch_size(), 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(decoded->batch(i).push().messages(0).seq(), i + 1);
    EXPECT_EQ(decoded->batch(i).push().messages(0).content().text().size(), (i + 1) * 100u);
  }
  EXPECT_EQ(decoded->batch(3).request_id(), "r9");
  EXPECT_EQ(decoded->batch(3).send_ack().seq(), 7);
}

INSTANTIATE_TEST_SUITE_P(Encodings, BatchEnvelope,
                         ::testing::Values(Encoding::kBinary, Encoding::kJson),
                         [](const auto& info) {
                           return info.param == Encoding::kBinary ? "protobuf" : "json";
                         });

// A frame with invalid UTF-8 in a string field is refused without a line
// on stderr per frame (protobuf's own logging goes to spdlog's debug level).
TEST(FrameDecoding, InvalidUtf8IsRefusedWithoutWritingToStderr) {
  RouteProtobufLogsToSpdlog();
  pb::ClientFrame frame;
  frame.set_request_id("r1");
  std::string bytes = frame.SerializeAsString();
  bytes[bytes.size() - 1] = '\xff';  // the last byte of request_id
  ::testing::internal::CaptureStderr();
  auto decoded = DecodeClientFrame(bytes, Encoding::kBinary);
  std::string stderr_text = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(stderr_text, "");
}

TEST(ErrorCodes, StatusAndProtocolCodesMapBothWays) {
  EXPECT_EQ(ErrorCodeFor(PermissionDenied("x")), pb::ERROR_CODE_FORBIDDEN);
  EXPECT_EQ(ErrorCodeFor(Status(Code::kPermissionDenied, "x").WithDetail(pb::ERROR_CODE_MUTED)),
            pb::ERROR_CODE_MUTED);
  EXPECT_EQ(ErrorCodeFor(Internal("x")), pb::ERROR_CODE_INTERNAL);
  pb::Error e;
  e.set_code(pb::ERROR_CODE_NOT_MEMBER);
  e.set_message("not yours");
  Status st = StatusFor(e);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.detail(), pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(st.message(), "not yours");
}

}  // namespace
}  // namespace flare
