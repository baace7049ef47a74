// push-proxy over gRPC (push.v1.PushService): the server adapter over a
// PushApi. The caller's tenant is the call's x-tenant-id. No gRPC in this
// header: wiring includes it.
#pragma once

#include <string>

#include "rpc/common/rpc_server.h"
#include "services/push/proxy/push_api.h"

namespace flare {

// Serves `api` (which must outlive the service). With a `token`, every call
// must carry "authorization: Bearer <token>" (the embedded server's admin
// port); without, the cluster's network is trusted as for every role.
RpcServicePtr NewPushGrpcService(PushApi& api, const std::string& token = "");

}  // namespace flare
