// The RouteTable that is a client of signaling-online (writes) and
// signaling-route (lookups).
#include "rpc/common/client_call.h"
#include "rpc/signaling/route_wire.h"
#include "rpc/signaling/signaling_grpc.h"
#include "signaling/online/v1/signaling.grpc.pb.h"
#include "signaling/router/v1/router.grpc.pb.h"

namespace flare {
namespace {

namespace online = ::signaling::online;
namespace router = ::signaling::router;

class RouteTableGrpcClient final : public RouteTable {
 public:
  RouteTableGrpcClient(std::shared_ptr<grpc::Channel> online_channel,
                       std::shared_ptr<grpc::Channel> router_channel, const RpcOptions& options,
                       RpcSeams seams)
      : online_(online::SignalingService::NewStub(std::move(online_channel))),
        router_(router::RouterService::NewStub(std::move(router_channel))),
        online_caller_("signaling.online.SignalingService", options, seams),
        router_caller_("signaling.router.RouterService", options, seams) {}

  Status Register(const std::string& tenant, const std::string& user_id,
                  const DeviceRoute& route) override {
    std::vector<DeviceRoute> displaced;  // a coexist login displaces nothing
    return Login(tenant, user_id, route, LoginConflict::kCoexist, rpc::Idempotency::kIdempotent,
                 displaced);
  }

  Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<DeviceRoute>& displaced) override {
    // A coexist login is a Register: nothing displaced, so safe to retry.
    rpc::Idempotency idempotency = policy == LoginConflict::kCoexist
                                       ? rpc::Idempotency::kIdempotent
                                       : rpc::Idempotency::kNotIdempotent;
    return Login(tenant, user_id, route, policy, idempotency, displaced);
  }

  Status RegisterDisplacingAndList(const std::string& tenant, const std::string& user_id,
                                   const DeviceRoute& route, LoginConflict policy,
                                   std::vector<DeviceRoute>& displaced,
                                   std::optional<std::vector<DeviceRoute>>& after) override {
    rpc::Idempotency idempotency = policy == LoginConflict::kCoexist
                                       ? rpc::Idempotency::kIdempotent
                                       : rpc::Idempotency::kNotIdempotent;
    return Login(tenant, user_id, route, policy, idempotency, displaced, &after);
  }

  Status UnregisterAndList(const std::string& tenant, const std::string& user_id,
                           uint64_t session_id,
                           std::optional<std::vector<DeviceRoute>>& after) override {
    online::LogoutRequest request;
    request.set_session_id(session_id);
    request.set_list_routes(true);
    online::LogoutResult response;
    FLARE_RETURN_IF_ERROR(
        online_caller_.Call("Logout", Principal{tenant, user_id}, rpc::Idempotency::kIdempotent,
                            [&](grpc::ClientContext& context) {
                              response.Clear();
                              return online_->Logout(&context, request, &response);
                            }));
    if (response.routes_listed()) after = RoutesFromWire(response.routes());
    return Status::Ok();
  }

  Status Unregister(const std::string& tenant, const std::string& user_id,
                    uint64_t session_id) override {
    online::LogoutRequest request;
    request.set_session_id(session_id);
    online::LogoutResult response;
    return online_caller_.Call("Logout", Principal{tenant, user_id}, rpc::Idempotency::kIdempotent,
                               [&](grpc::ClientContext& context) {
                                 return online_->Logout(&context, request, &response);
                               });
  }

  Status Lookup(const std::string& tenant, const std::string& user_id,
                std::vector<DeviceRoute>& out) override {
    std::vector<UserRoute> found;
    FLARE_RETURN_IF_ERROR(LookupMany(tenant, std::span<const std::string>(&user_id, 1), found));
    for (auto& f : found) out.push_back(std::move(f.route));
    return Status::Ok();
  }

  Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                    std::vector<UserRoute>& out) override {
    if (users.empty()) return Status::Ok();
    router::LookupRequest request;
    for (const auto& u : users) request.add_user_ids(u);
    router::LookupResult response;
    FLARE_RETURN_IF_ERROR(
        router_caller_.Call("LookupMany", Principal{tenant, kSignalingSystemId},
                            rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
                              response.Clear();
                              return router_->LookupMany(&context, request, &response);
                            }));
    for (const auto& r : response.routes()) {
      if (r.user_index() >= users.size()) {
        return Internal("signaling-route answered a user index out of range");
      }
    }
    for (const auto& r : response.routes()) {
      out.push_back({r.user_index(), rpc::RouteFromWire(r.route())});
    }
    return Status::Ok();
  }

  // Not retried: a retry would find the liveness the lost first attempt
  // set and hide a lapse.
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override {
    online::GatewayHeartbeatRequest request;
    request.set_gateway_id(gateway_id);
    online::GatewayHeartbeatResult response;
    FLARE_RETURN_IF_ERROR(
        online_caller_.Call("GatewayHeartbeat", Principal{kSignalingSystemId, kSignalingSystemId},
                            rpc::Idempotency::kNotIdempotent, [&](grpc::ClientContext& context) {
                              return online_->GatewayHeartbeat(&context, request, &response);
                            }));
    return response.lapsed() ? GatewayLiveness::kLapsed : GatewayLiveness::kAlive;
  }

 private:
  static std::vector<DeviceRoute> RoutesFromWire(
      const google::protobuf::RepeatedPtrField<online::Route>& wire) {
    std::vector<DeviceRoute> routes;
    routes.reserve(static_cast<size_t>(wire.size()));
    for (const auto& r : wire) routes.push_back(rpc::RouteFromWire(r));
    return routes;
  }

  // `after`: also list the user's routes after the login (null: do not).
  Status Login(const std::string& tenant, const std::string& user_id, const DeviceRoute& route,
               LoginConflict policy, rpc::Idempotency idempotency,
               std::vector<DeviceRoute>& displaced,
               std::optional<std::vector<DeviceRoute>>* after = nullptr) {
    online::LoginRequest request;
    rpc::RouteToWire(route, request.mutable_route());
    request.set_conflict(rpc::ConflictToWire(policy));
    request.set_list_routes(after != nullptr);
    online::LoginResult response;
    FLARE_RETURN_IF_ERROR(online_caller_.Call("Login", Principal{tenant, user_id}, idempotency,
                                              [&](grpc::ClientContext& context) {
                                                response.Clear();
                                                return online_->Login(&context, request, &response);
                                              }));
    for (const auto& d : response.displaced()) displaced.push_back(rpc::RouteFromWire(d));
    if (after != nullptr && response.routes_listed()) *after = RoutesFromWire(response.routes());
    return Status::Ok();
  }

  std::unique_ptr<online::SignalingService::Stub> online_;
  std::unique_ptr<router::RouterService::Stub> router_;
  rpc::RpcCaller online_caller_;
  rpc::RpcCaller router_caller_;
};

}  // namespace

std::unique_ptr<RouteTable> NewRouteTableGrpcClient(std::shared_ptr<grpc::Channel> online,
                                                    std::shared_ptr<grpc::Channel> router,
                                                    const RpcOptions& options, RpcSeams seams) {
  return std::make_unique<RouteTableGrpcClient>(std::move(online), std::move(router), options,
                                                seams);
}

}  // namespace flare
