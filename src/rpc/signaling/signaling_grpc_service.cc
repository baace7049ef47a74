// The server adapters of signaling-online and signaling-route: each call
// is one RouteTable call for the tenant (and user) of the call's metadata.
#include "rpc/common/server_call.h"
#include "rpc/signaling/route_wire.h"
#include "rpc/signaling/signaling_grpc.h"
#include "signaling/online/v1/signaling.grpc.pb.h"
#include "signaling/router/v1/router.grpc.pb.h"

namespace flare {
namespace {

namespace online = ::signaling::online;
namespace router = ::signaling::router;

void ListedToWire(const std::optional<std::vector<DeviceRoute>>& after,
                  google::protobuf::RepeatedPtrField<online::Route>& out) {
  if (!after) return;
  for (const auto& r : *after) rpc::RouteToWire(r, out.Add());
}

class SignalingGrpcService final : public online::SignalingService::Service {
 public:
  explicit SignalingGrpcService(RouteTable& routes) : routes_(routes) {}

  grpc::Status Login(grpc::ServerContext* context, const online::LoginRequest* request,
                     online::LoginResult* response) override {
    return rpc::ServeUnary(
        *context, "signaling.online.SignalingService/Login", [&](const Principal& who) -> Status {
          if (request->route().gateway_id().empty()) {
            return InvalidArgument("a login's route names no gateway");
          }
          auto policy = rpc::ConflictFromWire(request->conflict());
          if (!policy.ok()) return policy.status();
          std::vector<DeviceRoute> displaced;
          DeviceRoute route = rpc::RouteFromWire(request->route());
          if (!request->list_routes()) {
            FLARE_RETURN_IF_ERROR(
                routes_.RegisterDisplacing(who.tenant, who.user_id, route, *policy, displaced));
          } else {
            std::optional<std::vector<DeviceRoute>> after;
            FLARE_RETURN_IF_ERROR(routes_.RegisterDisplacingAndList(who.tenant, who.user_id, route,
                                                                    *policy, displaced, after));
            ListedToWire(after, *response->mutable_routes());
            response->set_routes_listed(after.has_value());
          }
          for (const auto& d : displaced) rpc::RouteToWire(d, response->add_displaced());
          return Status::Ok();
        });
  }

  grpc::Status Logout(grpc::ServerContext* context, const online::LogoutRequest* request,
                      online::LogoutResult* response) override {
    return rpc::ServeUnary(
        *context, "signaling.online.SignalingService/Logout", [&](const Principal& who) -> Status {
          if (!request->list_routes()) {
            return routes_.Unregister(who.tenant, who.user_id, request->session_id());
          }
          std::optional<std::vector<DeviceRoute>> after;
          FLARE_RETURN_IF_ERROR(
              routes_.UnregisterAndList(who.tenant, who.user_id, request->session_id(), after));
          ListedToWire(after, *response->mutable_routes());
          response->set_routes_listed(after.has_value());
          return Status::Ok();
        });
  }

  grpc::Status GatewayHeartbeat(grpc::ServerContext* context,
                                const online::GatewayHeartbeatRequest* request,
                                online::GatewayHeartbeatResult* response) override {
    return rpc::ServeUnary(*context, "signaling.online.SignalingService/GatewayHeartbeat",
                           [&](const Principal&) -> Status {
                             if (request->gateway_id().empty()) {
                               return InvalidArgument("a heartbeat names no gateway");
                             }
                             auto liveness = routes_.Heartbeat(request->gateway_id());
                             if (!liveness.ok()) return liveness.status();
                             response->set_lapsed(*liveness == GatewayLiveness::kLapsed);
                             return Status::Ok();
                           });
  }

 private:
  RouteTable& routes_;
};

class RouterGrpcService final : public router::RouterService::Service {
 public:
  explicit RouterGrpcService(RouteTable& routes) : routes_(routes) {}

  grpc::Status LookupMany(grpc::ServerContext* context, const router::LookupRequest* request,
                          router::LookupResult* response) override {
    return rpc::ServeUnary(
        *context, "signaling.router.RouterService/LookupMany", [&](const Principal& who) -> Status {
          std::vector<std::string> users(request->user_ids().begin(), request->user_ids().end());
          std::vector<UserRoute> found;
          FLARE_RETURN_IF_ERROR(routes_.LookupMany(who.tenant, users, found));
          for (const auto& f : found) {
            if (!request->gateway_id().empty() && f.route.gateway_id != request->gateway_id()) {
              continue;
            }
            router::UserRoute* out = response->add_routes();
            out->set_user_index(static_cast<uint32_t>(f.user_index));
            rpc::RouteToWire(f.route, out->mutable_route());
          }
          return Status::Ok();
        });
  }

 private:
  RouteTable& routes_;
};

}  // namespace

RpcServicePtr NewSignalingGrpcService(RouteTable& routes) {
  return RpcServicePtr(new SignalingGrpcService(routes));
}

RpcServicePtr NewRouterGrpcService(RouteTable& routes) {
  return RpcServicePtr(new RouterGrpcService(routes));
}

}  // namespace flare
