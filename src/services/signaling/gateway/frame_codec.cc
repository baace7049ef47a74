#include "services/signaling/gateway/frame_codec.h"

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

namespace flare {
namespace {

void ProtobufLogToSpdlog(google::protobuf::LogLevel level, const char* file, int line,
                         const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    spdlog::critical("protobuf {}:{}: {}", file, line, message);
  } else {
    spdlog::debug("protobuf {}:{}: {}", file, line, message);
  }
}

template <typename Frame>
Result<Frame> Decode(std::string_view data, Encoding encoding) {
  Frame frame;
  if (encoding == Encoding::kBinary) {
    if (!frame.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return InvalidArgument("frame is not a valid protobuf message");
    }
    return frame;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // newer clients may send fields we do not know
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(data.data(), data.size()), &frame, options);
  if (!st.ok()) return InvalidArgument("frame is not valid JSON: " + std::string(st.message()));
  return frame;
}

}  // namespace

Result<pb::ClientFrame> DecodeClientFrame(std::string_view data, Encoding encoding) {
  return Decode<pb::ClientFrame>(data, encoding);
}

Result<pb::ServerFrame> DecodeServerFrame(std::string_view data, Encoding encoding) {
  return Decode<pb::ServerFrame>(data, encoding);
}

std::string EncodeFrame(const google::protobuf::Message& frame, Encoding encoding) {
  std::string out;
  if (encoding == Encoding::kBinary) {
    frame.SerializeToString(&out);
  } else {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;  // lowerCamelCase, the proto3 JSON default
    (void)google::protobuf::util::MessageToJsonString(frame, &out, options);
  }
  return out;
}

namespace {
// First match wins when mapping a Code to a protocol code.
constexpr std::pair<pb::ErrorCode, Code> kErrorCodes[] = {
    {pb::ERROR_CODE_INVALID_ARGUMENT, Code::kInvalidArgument},
    {pb::ERROR_CODE_FORBIDDEN, Code::kPermissionDenied},
    {pb::ERROR_CODE_NOT_MEMBER, Code::kPermissionDenied},
    {pb::ERROR_CODE_PERMISSION_DENIED, Code::kPermissionDenied},
    {pb::ERROR_CODE_MUTED, Code::kPermissionDenied},
    {pb::ERROR_CODE_GROUP_DISMISSED, Code::kPermissionDenied},
    {pb::ERROR_CODE_RECALL_WINDOW_PASSED, Code::kPermissionDenied},
    {pb::ERROR_CODE_NOT_FOUND, Code::kNotFound},
    {pb::ERROR_CODE_CONFLICT, Code::kAlreadyExists},
    {pb::ERROR_CODE_AUTH_FAILED, Code::kUnauthenticated},
    {pb::ERROR_CODE_UNAUTHENTICATED, Code::kUnauthenticated},
    {pb::ERROR_CODE_UNAVAILABLE, Code::kUnavailable},
    {pb::ERROR_CODE_RATE_LIMITED, Code::kUnavailable},
    {pb::ERROR_CODE_MESSAGE_TOO_LARGE, Code::kResourceExhausted},
    {pb::ERROR_CODE_MEMBER_LIMIT, Code::kResourceExhausted},
    {pb::ERROR_CODE_FRAME_TOO_LARGE, Code::kResourceExhausted},
    {pb::ERROR_CODE_REJECTED_BY_HOOK, Code::kPermissionDenied},
};
}  // namespace

pb::ErrorCode ErrorCodeFor(const Status& status) {
  if (status.detail() != 0) return static_cast<pb::ErrorCode>(status.detail());
  for (const auto& [protocol, code] : kErrorCodes) {
    if (code == status.code()) return protocol;
  }
  return pb::ERROR_CODE_INTERNAL;
}

Status StatusFor(const pb::Error& error) {
  Code code = Code::kInternal;
  for (const auto& [protocol, c] : kErrorCodes) {
    if (protocol == error.code()) {
      code = c;
      break;
    }
  }
  return Status(code, error.message()).WithDetail(error.code());
}

void AppendBatchPrefix(std::string& out, size_t index, size_t frame_bytes, bool binary) {
  if (!binary) {
    out += index == 0 ? "{\"batch\":[" : ",";
    return;
  }
  out += static_cast<char>(0xF2);  // field 30, length-delimited
  out += static_cast<char>(0x01);
  uint64_t n = frame_bytes;
  while (n >= 0x80) {
    out += static_cast<char>((n & 0x7F) | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
}

void AppendBatchSuffix(std::string& out, bool binary) {
  if (!binary) out += "]}";
}

std::shared_ptr<const std::string> SharedFrame::Bytes(Encoding encoding) const {
  if (encoding == Encoding::kBinary) {
    if (preset_binary_) return preset_binary_;
    std::call_once(binary_once_, [this] {
      binary_ = std::make_shared<const std::string>(EncodeFrame(frame_, Encoding::kBinary));
    });
    return binary_;
  }
  std::call_once(json_once_, [this] {
    json_ = std::make_shared<const std::string>(EncodeFrame(frame_, Encoding::kJson));
  });
  return json_;
}

void RouteProtobufLogsToSpdlog() { google::protobuf::SetLogHandler(&ProtobufLogToSpdlog); }

}  // namespace flare
