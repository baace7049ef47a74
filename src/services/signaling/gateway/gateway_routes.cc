// Gateway: removing a closed session's route, and registering routes again
// after the route table lost them.
#include <spdlog/spdlog.h>

#include <utility>

#include "services/signaling/gateway/gateway.h"

namespace flare {

namespace pb = ::flare::client::v1;

void Gateway::RemoveRouteOnLane(const RouteRemoval& removal) {
  bool queued = OnLoginLane(removal.who.tenant, removal.who.user_id, [this, removal] {
    // A login that never ran registered nothing (closed first: after a
    // mass disconnect most queued logins are), and nothing changed online.
    if (!removal.registering->load(std::memory_order_relaxed)) return;
    const Principal& who = removal.who;
    std::optional<std::vector<DeviceRoute>> after;
    Status st = deps_.routes.UnregisterAndList(who.tenant, who.user_id, removal.session_id, after);
    // A stale route only costs pushes that find no session; a shared table
    // drops it with its TTL, or with the gateway's liveness.
    if (!st.ok()) {
      spdlog::warn("route of {}/{} not removed: {}", who.tenant, who.user_id, st.ToString());
    }
    AnnouncePresence(who, false, after);
  });
  if (queued) return;
  spdlog::warn("route of {}/{} to be removed at the next heartbeat: login lane full",
               removal.who.tenant, removal.who.user_id);
  std::lock_guard lock(repair_mu_);
  removals_refused_.push_back(removal);
}

bool Gateway::RoutesIncomplete() const {
  std::lock_guard lock(repair_mu_);
  return repair_every_session_ || repair_in_flight_ > 0 || !repair_failed_.empty() ||
         !removals_refused_.empty();
}

// Nothing when there is nothing to register or a round is still queued;
// otherwise holds repair_in_flight_ once for the new round. Snapshot and
// Find take the shards' locks, so they run outside repair_mu_.
std::optional<std::vector<Gateway::SessionPtr>> Gateway::SessionsToRegisterAgain(
    RouteRepair repair) {
  bool every_session = false;
  std::unordered_set<uint64_t> failed;
  {
    std::lock_guard lock(repair_mu_);
    if (repair == RouteRepair::kEverySession) repair_every_session_ = true;
    // The round in flight goes first: queuing every session again behind
    // it would fill the lanes that logins and logouts need.
    if (repair_in_flight_ > 0) return std::nullopt;
    every_session = std::exchange(repair_every_session_, false);
    failed.swap(repair_failed_);  // every session covers them
    if (!every_session && failed.empty()) return std::nullopt;
    ++repair_in_flight_;
  }
  if (every_session) return Snapshot();
  std::vector<SessionPtr> sessions;
  for (uint64_t id : failed) {
    if (SessionPtr s = Find(id)) sessions.push_back(std::move(s));
  }
  return sessions;
}

void Gateway::RegisteredAgain(uint64_t session_id, bool ok) {
  std::lock_guard lock(repair_mu_);
  --repair_in_flight_;
  if (!ok) repair_failed_.insert(session_id);
}

// On the lane, after any login or logout of the user queued before: a
// session closed by then is skipped (its logout, queued after the close,
// runs after this and finds the route gone either way), and one whose
// login has not run yet is registered by that login. Each session
// registered again is told to catch up (a CatchUp notice), once: pushes
// found no route to it meanwhile.
size_t Gateway::RegisterRoutesAgain(RouteRepair repair) {
  std::vector<RouteRemoval> removals;
  {
    std::lock_guard lock(repair_mu_);
    removals.swap(removals_refused_);
  }
  for (const RouteRemoval& removal : removals) RemoveRouteOnLane(removal);
  auto sessions = SessionsToRegisterAgain(repair);
  if (!sessions) return 0;
  pb::ServerFrame catch_up;
  catch_up.mutable_catch_up();
  auto notice = std::make_shared<const SharedFrame>(std::move(catch_up));
  size_t queued = 0;
  for (const SessionPtr& s : *sessions) {
    auto who = s->principal();
    if (!who || !s->route_registering()->load(std::memory_order_relaxed)) continue;
    DeviceRoute route{options_.gateway_id, s->id(), who->device, who->platform};
    {
      std::lock_guard lock(repair_mu_);
      ++repair_in_flight_;
    }
    bool ok = OnLoginLane(who->tenant, who->user_id, [this, who = *who, route, notice] {
      if (Find(route.session_id) == nullptr) return RegisteredAgain(route.session_id, true);
      Status st = deps_.routes.Register(who.tenant, who.user_id, route);
      if (!st.ok()) {
        spdlog::warn("route of {}/{} not registered again: {}", who.tenant, who.user_id,
                     st.ToString());
      } else if (SessionPtr session = Find(route.session_id)) {
        session->Notify(*notice);  // what was pushed while the route was gone never arrived
      }
      RegisteredAgain(route.session_id, st.ok());
    });
    if (!ok) RegisteredAgain(s->id(), false);
    queued += ok ? 1 : 0;
  }
  RegisteredAgain(0, true);  // the round is queued: SessionsToRegisterAgain's hold
  if (queued > 0) {
    spdlog::warn("gateway {}: registering {} sessions' routes again", options_.gateway_id, queued);
  }
  return queued;
}

}  // namespace flare
