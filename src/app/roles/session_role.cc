// session as a process: a LocalSessionService over the shared store,
// served as session.v1.SessionService.
#include "app/roles/role.h"
#include "rpc/session/session_grpc.h"
#include "services/session/session_service.h"

namespace flare {
namespace {

class SessionRole final : public Role {
 public:
  explicit SessionRole(RoleDeps& deps)
      // No DurableFence, as in storage_reader_role.cc: what the store holds
      // was committed by a writer elsewhere.
      : sessions_(*deps.stores.messages, *deps.stores.conversations,
                  {static_cast<int>(deps.config.bootstrap_page_conversations),
                   static_cast<size_t>(deps.config.sync_max_page_bytes)}),
        service_(NewSessionGrpcService(sessions_)) {}

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "session.v1.SessionService"; }

 private:
  LocalSessionService sessions_;
  RpcServicePtr service_;
};

}  // namespace

std::unique_ptr<Role> MakeSessionRole(RoleDeps& deps) {
  return std::make_unique<SessionRole>(deps);
}

}  // namespace flare
