// DeviceRoute and LoginConflict <-> their protos (signaling.online.Route and
// signaling.router.DeviceRoute have the same fields). Included by
// src/rpc/signaling/ .cc files only.
#pragma once

#include "common/result.h"
#include "ports/route_table.h"
#include "signaling/online/v1/signaling.pb.h"
#include "signaling/router/v1/router.pb.h"

namespace flare::rpc {

template <typename WireRoute>
void RouteToWire(const DeviceRoute& in, WireRoute* out) {
  out->set_gateway_id(in.gateway_id);
  out->set_session_id(in.session_id);
  out->set_device(in.device);
  out->set_platform(in.platform);
}

template <typename WireRoute>
DeviceRoute RouteFromWire(const WireRoute& in) {
  return DeviceRoute{in.gateway_id(), in.session_id(), in.device(), in.platform()};
}

inline ::signaling::online::LoginConflict ConflictToWire(LoginConflict policy) {
  switch (policy) {
    case LoginConflict::kCoexist:
      return ::signaling::online::LOGIN_CONFLICT_COEXIST;
    case LoginConflict::kPlatformExclusive:
      return ::signaling::online::LOGIN_CONFLICT_PLATFORM_EXCLUSIVE;
    case LoginConflict::kExclusive:
      return ::signaling::online::LOGIN_CONFLICT_EXCLUSIVE;
  }
  return ::signaling::online::LOGIN_CONFLICT_COEXIST;
}

// A value this build does not know is refused rather than read as coexist:
// a newer caller's stricter policy must not silently displace nothing.
inline Result<LoginConflict> ConflictFromWire(::signaling::online::LoginConflict policy) {
  switch (policy) {
    case ::signaling::online::LOGIN_CONFLICT_COEXIST:
      return LoginConflict::kCoexist;
    case ::signaling::online::LOGIN_CONFLICT_PLATFORM_EXCLUSIVE:
      return LoginConflict::kPlatformExclusive;
    case ::signaling::online::LOGIN_CONFLICT_EXCLUSIVE:
      return LoginConflict::kExclusive;
    default:
      return InvalidArgument("unknown login conflict policy " + std::to_string(policy));
  }
}

}  // namespace flare::rpc
