// hooks.v1.HookAdminService: the hook engine's admin API over gRPC (list
// the engine's hooks; put and delete them through HookSettings, which
// saves the list for every process of the deployment and applies it here
// at once; per-hook statistics; recent dead letters). No gRPC in this
// header.
#pragma once

#include <string>

#include "rpc/common/rpc_server.h"
#include "services/hooks/hook_engine.h"
#include "services/hooks/hook_settings.h"

namespace flare {

// Serves `engine` and `settings` (over that engine; both must outlive the
// service). Every call must carry "authorization: Bearer <token>"
// (compared in constant time); `token` must not be empty.
RpcServicePtr NewHookAdminGrpcService(HookEngine& engine, HookSettings& settings,
                                      std::string token);

}  // namespace flare
