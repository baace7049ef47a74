// Encoding of client-protocol frames: protobuf in binary WebSocket
// messages, proto3 JSON in text messages.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

namespace pb = ::flare::client::v1;

enum class Encoding { kBinary, kJson };

Result<pb::ClientFrame> DecodeClientFrame(std::string_view data, Encoding encoding);

// Protobuf writes every parse problem of an untrusted frame (invalid UTF-8
// in a string field, say) to stderr: a client could fill the log with
// them. This routes protobuf's own log lines to spdlog at debug level (its
// fatal ones at critical). Once per process, before serving.
void RouteProtobufLogsToSpdlog();
Result<pb::ServerFrame> DecodeServerFrame(std::string_view data, Encoding encoding);
std::string EncodeFrame(const google::protobuf::Message& frame, Encoding encoding);

// How Status codes and protocol error codes correspond, in one table used
// by the server (replies) and the client library (results). A Status
// detail, when set, is the protocol code itself.
pb::ErrorCode ErrorCodeFor(const Status& status);
Status StatusFor(const pb::Error& error);

// The envelope that makes several encoded ServerFrames one ServerFrame with
// `batch` set, without re-encoding them: in protobuf each frame is prefixed
// with the tag and length of field 30; in JSON they become {"batch":[...]}.
void AppendBatchPrefix(std::string& out, size_t index, size_t frame_bytes, bool binary);
void AppendBatchSuffix(std::string& out, bool binary);

// A server frame serialized at most once per encoding, shared by every
// connection it is sent to.
class SharedFrame {
 public:
  explicit SharedFrame(pb::ServerFrame frame) : frame_(std::move(frame)) {}
  // A frame that arrived already serialized (`binary` are its protobuf
  // bytes): binary connections get those bytes, not a second encoding.
  SharedFrame(pb::ServerFrame frame, std::string binary)
      : frame_(std::move(frame)),
        preset_binary_(std::make_shared<const std::string>(std::move(binary))) {}
  const pb::ServerFrame& frame() const { return frame_; }
  // Thread-safe; the bytes live as long as any holder of the pointer.
  std::shared_ptr<const std::string> Bytes(Encoding encoding) const;

 private:
  pb::ServerFrame frame_;
  const std::shared_ptr<const std::string> preset_binary_;
  mutable std::once_flag binary_once_, json_once_;
  mutable std::shared_ptr<const std::string> binary_, json_;
};

}  // namespace flare
