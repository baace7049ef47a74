// push-proxy over gRPC (push.v1.PushService): the server adapter over a
// PushApi. The caller's tenant is the call's x-tenant-id. No gRPC in this
// header: wiring includes it.
#pragma once

#include "rpc/common/rpc_server.h"
#include "services/push/proxy/push_api.h"

namespace flare {

// Serves `api` (which must outlive the service).
RpcServicePtr NewPushGrpcService(PushApi& api);

}  // namespace flare
