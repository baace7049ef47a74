// The lean WebSocket server's parsers: the HTTP upgrade request, frame
// headers, and UTF-8 validation (whole and fed in two pieces must agree).
#include <string>

#include "adapters/lean_ws/ws_protocol.h"
#include "fuzz_check.h"

using namespace flare::lean_ws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  UpgradeRequest req;
  size_t consumed = 0;
  if (ParseUpgradeRequest(text, 8 * 1024, req, consumed) == RequestParse::kDone) {
    FUZZ_CHECK(consumed <= size);
    bool accepted = false;
    std::string token;
    std::string answer = AnswerUpgrade(req, accepted, token);
    FUZZ_CHECK(answer.rfind("HTTP/1.1 ", 0) == 0);
  }

  FrameHeader h;
  if (ParseFrameHeader(data, size, 1 << 20, h) == HeaderParse::kOk) {
    FUZZ_CHECK(h.header_bytes >= 2 && h.header_bytes <= 14 && h.header_bytes <= size);
    FUZZ_CHECK(h.length <= (1u << 20));
  }

  const bool whole = ValidUtf8(text);
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  Utf8Validator pieces;
  bool ok = pieces.Feed(data, cut) && pieces.Feed(data + cut, size - cut) && pieces.complete();
  FUZZ_CHECK(ok == whole);
  return 0;
}
