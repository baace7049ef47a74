// session over gRPC (session.v1.SessionService): the server adapter that
// serves any SessionService, and the client that is one. No gRPC in this
// header: wiring includes it.
#pragma once

#include <memory>

#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"
#include "services/session/session_service.h"

namespace flare {

// Serves `sessions` (which must outlive the service) to other roles.
RpcServicePtr NewSessionGrpcService(SessionService& sessions);

// A SessionService that asks the session role behind `channel`.
std::unique_ptr<SessionService> NewSessionGrpcClient(std::shared_ptr<grpc::Channel> channel,
                                                     const RpcOptions& options,
                                                     RpcSeams seams = {});

}  // namespace flare
