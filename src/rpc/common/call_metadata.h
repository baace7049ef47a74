// What travels beside every gRPC request between roles: who asks (the
// principal the gateway authenticated), the request id and the W3C
// traceparent; and, beside an error, Flare's own code and the client's
// error code so that neither is lost in the hop. Included by src/rpc/ .cc
// files only (gRPC headers are heavy).
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>

#include "common/result.h"
#include "rpc/common/trace_context.h"
#include "services/signaling/online/token.h"

namespace flare::rpc {

// Request metadata (lowercase, as HTTP/2 requires).
inline constexpr char kTenantKey[] = "x-tenant-id";
inline constexpr char kUserKey[] = "x-user-id";
inline constexpr char kDeviceKey[] = "x-device-id";
inline constexpr char kPlatformKey[] = "x-platform";
inline constexpr char kRequestIdKey[] = "x-request-id";
inline constexpr char kTraceparentKey[] = "traceparent";
// Trailing metadata of a failed call.
inline constexpr char kFlareCodeKey[] = "x-flare-code";        // CodeName(), e.g. "IO_ERROR"
inline constexpr char kErrorCodeKey[] = "x-flare-error-code";  // Status::detail(), decimal

// Client side: puts `who` (empty fields are left out) and `trace` on a call.
void AttachCallMetadata(grpc::ClientContext& context, const Principal& who,
                        const TraceContext& trace);

// What the server reads back from a call.
struct IncomingCall {
  Principal who;
  TraceContext trace;    // request id and traceparent (made up when the caller sent none)
  std::string trace_id;  // of trace.traceparent
};

// UNAUTHENTICATED without a valid x-tenant-id and x-user-id (and a valid
// x-device-id when there is one); an invalid x-request-id is
// INVALID_ARGUMENT. A missing request id or a missing or malformed
// traceparent is replaced by a new one (a new trace, as W3C says).
Result<IncomingCall> ReadIncomingCall(const grpc::ServerContext& context);

// The request id and traceparent alone, for a call whose requests name
// their own principals (a gateway's stream carries many users): the same
// checks and replacements as ReadIncomingCall, without the identity.
Result<TraceContext> ReadIncomingTrace(const grpc::ServerContext& context);

// flare Code <-> grpc::StatusCode. Each project code has its own gRPC code
// but IO_ERROR, which travels as INTERNAL (the trailer restores it); gRPC's
// own codes without a flare one come back as UNAVAILABLE
// (DEADLINE_EXCEEDED, CANCELLED: try later), INVALID_ARGUMENT
// (OUT_OF_RANGE, FAILED_PRECONDITION) or INTERNAL (UNKNOWN, UNIMPLEMENTED).
grpc::StatusCode ToGrpcCode(Code code);
Code FromGrpcCode(grpc::StatusCode code);

// Server side: the gRPC status of `status`; a failure also gets its exact
// flare code and client error code as trailing metadata.
grpc::Status ToGrpcStatus(const Status& status, grpc::ServerContext& context);

// Client side: the flare Status of a finished call, exact when the server
// sent Flare's trailers, mapped from the gRPC code when not.
Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& context);

}  // namespace flare::rpc
