// hook-engine as a process: the cluster's hook admin API
// (hooks.v1.HookAdminService). Its puts and deletes are saved in the
// settings store (OpenSettingsStore), from which every role process that
// runs hooks (message-orchestrator, storage-writer, signaling-gateway)
// reloads them within hook_admin.reload_interval_ms. It has an engine of
// its own (HookStack): for validation, ListHooks (this process's view of
// the saved list), and its own statistics and dead letters, which are
// those of the calls it made: none. Per-hook call statistics of a cluster
// are in each role process's /metrics. Every call carries hook_admin.token,
// as on the embedded admin port: whoever can put a hook can read every
// message.
#include "app/hook_wiring.h"
#include "app/roles/role.h"
#include "rpc/hooks/hook_admin_grpc.h"

namespace flare {
namespace {

class HookEngineRole final : public Role {
 public:
  HookEngineRole(std::unique_ptr<HookStack> hooks, const std::string& token)
      : hooks_(std::move(hooks)),
        service_(NewHookAdminGrpcService(hooks_->engine(), hooks_->settings(), token)) {}

  ~HookEngineRole() override { Stop(); }

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "hooks.v1.HookAdminService"; }
  void Stop() override { hooks_->Close(); }

 private:
  std::unique_ptr<HookStack> hooks_;
  RpcServicePtr service_;  // uses hooks_
};

}  // namespace

Result<std::unique_ptr<Role>> MakeHookEngineRole(RoleDeps& deps) {
  if (deps.config.hook_admin_token.empty()) {
    return InvalidArgument(
        "role 'hook-engine' serves the hook admin API, which needs hook_admin.token "
        "(FLARE_HOOK_ADMIN_TOKEN, at least 16 bytes): it is empty");
  }
  auto hooks = HookStack::Open(deps.config, &deps.shared.metrics());
  if (!hooks.ok()) return hooks.status();
  return std::unique_ptr<Role>(
      new HookEngineRole(std::move(hooks).value(), deps.config.hook_admin_token));
}

}  // namespace flare
