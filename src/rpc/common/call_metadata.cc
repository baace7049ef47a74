#include "rpc/common/call_metadata.h"

#include <charconv>
#include <optional>

#include "common/clock.h"
#include "common/ids.h"

namespace flare::rpc {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::optional<std::string> Find(const Metadata& metadata, std::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

// Ids and spans made up for calls that came without them.
Random& LocalRandom() {
  thread_local SystemRandom random;
  return random;
}

void AddIfSet(grpc::ClientContext& context, const char* key, const std::string& value) {
  if (!value.empty()) context.AddMetadata(key, value);
}

constexpr Code kAllCodes[] = {Code::kOk,
                              Code::kInvalidArgument,
                              Code::kNotFound,
                              Code::kAlreadyExists,
                              Code::kPermissionDenied,
                              Code::kUnauthenticated,
                              Code::kResourceExhausted,
                              Code::kUnavailable,
                              Code::kInternal,
                              Code::kIoError,
                              Code::kAborted};

std::optional<Code> CodeFromName(std::string_view name) {
  for (Code code : kAllCodes) {
    if (name == CodeName(code)) return code;
  }
  return std::nullopt;
}

}  // namespace

void AttachCallMetadata(grpc::ClientContext& context, const Principal& who,
                        const TraceContext& trace) {
  AddIfSet(context, kTenantKey, who.tenant);
  AddIfSet(context, kUserKey, who.user_id);
  AddIfSet(context, kDeviceKey, who.device);
  AddIfSet(context, kPlatformKey, who.platform);
  AddIfSet(context, kRequestIdKey, trace.request_id);
  AddIfSet(context, kTraceparentKey, trace.traceparent);
}

Result<IncomingCall> ReadIncomingCall(const grpc::ServerContext& context) {
  const Metadata& metadata = context.client_metadata();
  IncomingCall call;
  call.who.tenant = Find(metadata, kTenantKey).value_or("");
  call.who.user_id = Find(metadata, kUserKey).value_or("");
  call.who.device = Find(metadata, kDeviceKey).value_or("");
  call.who.platform = Find(metadata, kPlatformKey).value_or("");
  if (!IsValidId(call.who.tenant) || !IsValidId(call.who.user_id)) {
    return Unauthenticated("the call names no valid x-tenant-id and x-user-id");
  }
  if (!call.who.device.empty() && !IsValidId(call.who.device)) {
    return Unauthenticated("the call's x-device-id is not a valid id");
  }
  auto trace = ReadIncomingTrace(context);
  if (!trace.ok()) return trace.status();
  call.trace = std::move(*trace);
  call.trace_id = TraceParent::Parse(call.trace.traceparent)->trace_id;
  return call;
}

Result<TraceContext> ReadIncomingTrace(const grpc::ServerContext& context) {
  const Metadata& metadata = context.client_metadata();
  TraceContext trace;
  trace.request_id = Find(metadata, kRequestIdKey).value_or("");
  if (!IsValidRequestId(trace.request_id)) {
    return InvalidArgument("the call's x-request-id is not a valid request id");
  }
  if (trace.request_id.empty()) {
    trace.request_id = MakeUlid(SystemClock::Instance().NowMs(), LocalRandom());
  }
  auto parent = TraceParent::Parse(Find(metadata, kTraceparentKey).value_or(""));
  if (!parent) parent = NewTrace(LocalRandom());
  trace.traceparent = parent->ToString();
  return trace;
}

grpc::StatusCode ToGrpcCode(Code code) {
  switch (code) {
    case Code::kOk:
      return grpc::StatusCode::OK;
    case Code::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case Code::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case Code::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case Code::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case Code::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Code::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case Code::kInternal:
    case Code::kIoError:  // the server's storage failed: not the caller's to retry
      return grpc::StatusCode::INTERNAL;
    case Code::kAborted:
      return grpc::StatusCode::ABORTED;
  }
  return grpc::StatusCode::UNKNOWN;
}

Code FromGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return Code::kOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Code::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return Code::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return Code::kAlreadyExists;
    case grpc::StatusCode::PERMISSION_DENIED:
      return Code::kPermissionDenied;
    case grpc::StatusCode::UNAUTHENTICATED:
      return Code::kUnauthenticated;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Code::kResourceExhausted;
    // The callee did not answer in time, or went away: try again later.
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return Code::kUnavailable;
    case grpc::StatusCode::ABORTED:
      return Code::kAborted;
    case grpc::StatusCode::DATA_LOSS:
      return Code::kIoError;
    default:  // INTERNAL, UNKNOWN, UNIMPLEMENTED
      return Code::kInternal;
  }
}

grpc::Status ToGrpcStatus(const Status& status, grpc::ServerContext& context) {
  if (status.ok()) return grpc::Status::OK;
  context.AddTrailingMetadata(kFlareCodeKey, CodeName(status.code()));
  if (status.detail() != 0) {
    context.AddTrailingMetadata(kErrorCodeKey, std::to_string(status.detail()));
  }
  return grpc::Status(ToGrpcCode(status.code()), status.message());
}

Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& context) {
  if (status.ok()) return Status::Ok();
  const Metadata& trailers = context.GetServerTrailingMetadata();
  std::optional<Code> code;
  if (auto name = Find(trailers, kFlareCodeKey)) code = CodeFromName(*name);
  if (!code || *code == Code::kOk) code = FromGrpcCode(status.error_code());
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    message = "deadline exceeded" + (message.empty() ? "" : ": " + message);
  }
  Status out(*code, std::move(message));
  int detail = 0;
  if (auto text = Find(trailers, kErrorCodeKey)) {
    std::from_chars(text->data(), text->data() + text->size(), detail);
  }
  return detail != 0 ? std::move(out).WithDetail(detail) : out;
}

}  // namespace flare::rpc
