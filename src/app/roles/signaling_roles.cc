// signaling-online and signaling-route as processes: the route table
// (presence.backend, Redis in a cluster) served over gRPC, logins,
// logouts and gateway heartbeats by signaling-online
// (signaling.online.SignalingService), audience lookups by signaling-route
// (signaling.router.RouterService). Both are stateless: any number of
// either may run over the same Redis.
#include "app/roles/role.h"
#include "rpc/signaling/signaling_grpc.h"

namespace flare {
namespace {

class RouteTableRole final : public Role {
 public:
  RouteTableRole(std::shared_ptr<RouteTable> routes, bool online)
      : routes_(std::move(routes)),
        service_(online ? NewSignalingGrpcService(*routes_) : NewRouterGrpcService(*routes_)),
        name_(online ? "signaling.online.SignalingService" : "signaling.router.RouterService") {}

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return name_; }

 private:
  std::shared_ptr<RouteTable> routes_;
  RpcServicePtr service_;
  std::string name_;
};

Result<std::unique_ptr<Role>> Make(RoleDeps& deps, bool online) {
  auto routes = deps.shared.RouteBackend();
  if (!routes.ok()) return routes.status();
  return std::unique_ptr<Role>(new RouteTableRole(*routes, online));
}

}  // namespace

Result<std::unique_ptr<Role>> MakeSignalingOnlineRole(RoleDeps& deps) { return Make(deps, true); }
Result<std::unique_ptr<Role>> MakeSignalingRouteRole(RoleDeps& deps) { return Make(deps, false); }

}  // namespace flare
