// signaling-online (signaling.online.SignalingService) and signaling-route
// (signaling.router.RouterService) over gRPC: the server adapters that
// serve any RouteTable, and the client that is one (writes to
// signaling-online, lookups to signaling-route). No gRPC in this header:
// wiring includes it.
//
// Identity: a login or logout names its user in the call's metadata (the
// principal); lookups name their tenant there, and heartbeats, which have
// no tenant, the cluster's own (kSignalingSystemId for tenant and user).
#pragma once

#include <memory>

#include "ports/route_table.h"
#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"

namespace flare {

// The tenant and user of calls made for no user (heartbeats; the user of
// lookups). A valid id that no real user of the route table is asked for.
inline constexpr char kSignalingSystemId[] = "_signaling";

// Serves Login, Logout and GatewayHeartbeat on `routes` (which must
// outlive the service); QueryPresence answers UNIMPLEMENTED.
RpcServicePtr NewSignalingGrpcService(RouteTable& routes);

// Serves LookupMany on `routes` (which must outlive the service).
RpcServicePtr NewRouterGrpcService(RouteTable& routes);

// A RouteTable whose writes (Register, RegisterDisplacing, Unregister,
// Heartbeat) go to signaling-online behind `online` and whose lookups go to
// signaling-route behind `router`. Register is a coexist login (displaces
// nothing, so it is retried like Unregister and lookups);
// RegisterDisplacing is never retried (a repeated login may displace the
// session the first one registered), nor is Heartbeat (a retry would hide
// a lapse the lost first attempt found).
std::unique_ptr<RouteTable> NewRouteTableGrpcClient(std::shared_ptr<grpc::Channel> online,
                                                    std::shared_ptr<grpc::Channel> router,
                                                    const RpcOptions& options, RpcSeams seams = {});

}  // namespace flare
