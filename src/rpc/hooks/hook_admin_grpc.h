// hooks.v1.HookAdminService: the hook engine's admin API over gRPC (list,
// put and delete hooks, applied at once through HookEngine::Configure;
// per-hook statistics; recent dead letters). No gRPC in this header.
#pragma once

#include <string>

#include "rpc/common/rpc_server.h"
#include "services/hooks/hook_engine.h"

namespace flare {

// Serves `engine` (which must outlive the service). Every call must carry
// "authorization: Bearer <token>" (compared in constant time); `token`
// must not be empty.
RpcServicePtr NewHookAdminGrpcService(HookEngine& engine, std::string token);

}  // namespace flare
