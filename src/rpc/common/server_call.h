// The server half of every call between roles: reads who calls and the
// call's ids from metadata, makes the ids current while the handler runs
// (so calls it makes in turn carry them on), logs the call with them and
// maps the handler's Status to gRPC's. Included by src/rpc/ .cc files only.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string_view>

#include "common/result.h"
#include "services/signaling/online/token.h"

namespace flare::rpc {

// Serves one unary call with `handler`; a call without a valid identity is
// refused UNAUTHENTICATED before the handler runs. `method` names the call
// in logs ("storage.v1.StorageReaderService/Sync").
grpc::Status ServeUnary(grpc::ServerContext& context, std::string_view method,
                        const std::function<Status(const Principal&)>& handler);

// Serves a unary call whose `read(principal)` returns a Result<Response>:
// its value goes into `response`, its error becomes the call's status.
template <typename Response, typename Read>
grpc::Status ServeRead(grpc::ServerContext& context, std::string_view method, Response* response,
                       Read read) {
  return ServeUnary(context, method, [&](const Principal& who) {
    auto result = read(who);
    if (!result.ok()) return result.status();
    response->Swap(&*result);
    return Status::Ok();
  });
}

// For a service reached from outside the cluster's trusted network (the
// embedded server's admin APIs): OK when the call's `authorization`
// metadata is exactly `expected` ("Bearer <token>", compared in constant
// time), else UNAUTHENTICATED, logged with `method` and the peer.
grpc::Status RequireBearer(const grpc::ServerContext& context, std::string_view expected,
                           std::string_view method);

}  // namespace flare::rpc
