#include "adapters/grpc_hooks/grpc_hook_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "adapters/webhook/webhook_signature.h"

namespace flare {

namespace pb = ::hooks::v1;

pb::HookRequest ToProto(const HookRequest& request) {
  pb::HookRequest out;
  out.set_point(request.point);
  out.set_hook(request.hook);
  out.set_event_id(request.event_id);
  out.set_tenant(request.tenant);
  out.set_attempt(request.attempt);
  *out.mutable_message() = request.message;
  out.set_action(request.action);
  out.set_user_id(request.user_id);
  out.set_device(request.device);
  out.set_platform(request.platform);
  return out;
}

Result<HookResponse> FromProto(const pb::HookResponse& response) {
  HookResponse out;
  switch (response.action()) {
    case pb::HookResponse::ACTION_ALLOW:
      break;
    case pb::HookResponse::ACTION_REJECT:
      out.verdict = HookResponse::Verdict::kReject;
      out.code = response.code();
      out.reason = response.reason();
      return out;
    default:
      return InvalidArgument("hook answer: unknown action " + std::to_string(response.action()));
  }
  if (response.has_content()) out.content = response.content();
  if (response.has_attributes()) {
    const auto& values = response.attributes().values();
    out.attributes.emplace(values.begin(), values.end());
  }
  return out;
}

std::string SignedBytes(const pb::HookRequest& request) {
  std::string bytes;
  {
    // Map entries (the message's attributes) are otherwise serialized in
    // no fixed order; the receiver re-serializes what it parsed.
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string GrpcHookSignature(const std::string& secret, const std::string& timestamp,
                              const pb::HookRequest& request) {
  return WebhookSignature(secret, timestamp, SignedBytes(request));
}

Status VerifyGrpcHookSignature(const std::string& secret, const std::string& timestamp,
                               const std::string& signature, const pb::HookRequest& request,
                               int64_t now_s, int64_t window_s) {
  return VerifyWebhookSignature(secret, timestamp, signature, SignedBytes(request), now_s,
                                window_s);
}

}  // namespace flare
