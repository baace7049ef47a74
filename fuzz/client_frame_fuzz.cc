// The client frame decoder in both encodings. The first byte picks the
// encoding (even: protobuf, odd: proto3 JSON); a frame that decodes must
// encode and decode again to the same frame.
#include <google/protobuf/util/message_differencer.h>

#include "fuzz_check.h"
#include "services/signaling/gateway/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (flare::RouteProtobufLogsToSpdlog(), true);  // as the server does
  (void)quiet;
  if (size == 0) return 0;
  using flare::Encoding;
  const Encoding encoding = data[0] % 2 == 0 ? Encoding::kBinary : Encoding::kJson;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto frame = flare::DecodeClientFrame(bytes, encoding);
  if (!frame.ok()) return 0;
  std::string again = flare::EncodeFrame(*frame, encoding);
  auto decoded = flare::DecodeClientFrame(again, encoding);
  FUZZ_CHECK(decoded.ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*frame, *decoded));
  return 0;
}
