#include "adapters/redis/redis_route_table.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "adapters/redis/redis_route_scripts.h"

namespace flare {
using namespace redis_routes;

namespace {

// The run_id line of an INFO server reply ("" if absent).
std::string RunIdOf(std::string_view info) {
  constexpr std::string_view kField = "run_id:";
  size_t at = info.find(kField);
  if (at == std::string_view::npos) return "";
  info.remove_prefix(at + kField.size());
  return std::string(info.substr(0, info.find_first_of("\r\n")));
}

// Placeholders for the script SHAs in commands given to RunLocked.
constexpr const char* kLoginName = "login";
constexpr const char* kLookupName = "lookup";

bool IsNoScript(const redisReply* r) {
  return IsError(r) && ReplyString(r).starts_with("NOSCRIPT");
}

}  // namespace

std::string RedisRouteTable::RoutesKey(const std::string& tenant, const std::string& user_id) {
  return "flare:" + EncodeTenant(tenant) + ":routes:" + user_id;
}

std::string RedisRouteTable::GatewayKey(const std::string& gateway_id) {
  return kGatewayKeyPrefix + gateway_id;
}

Result<std::shared_ptr<RedisRouteTable>> RedisRouteTable::Open(
    const RedisRouteTableOptions& options) {
  auto url = ParseRedisUrl(options.url);
  if (!url.ok()) return url.status();
  IgnoreSigpipeOnce();
  std::shared_ptr<RedisRouteTable> table(new RedisRouteTable(options, *url));
  std::lock_guard lock(table->mu_);
  FLARE_RETURN_IF_ERROR(table->ConnectLocked());
  return table;
}

RedisRouteTable::RedisRouteTable(RedisRouteTableOptions options, RedisUrl url)
    : options_(std::move(options)),
      conn_(std::move(url), options_.connect_timeout, options_.command_timeout) {}

Status RedisRouteTable::LoadScriptsLocked() {
  auto replies =
      conn_.Pipeline({{"SCRIPT", "LOAD", kLoginScript}, {"SCRIPT", "LOAD", kLookupScript}});
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r->type != REDIS_REPLY_STRING) {
      Status st = conn_.Unavailable("SCRIPT LOAD failed: " + std::string(ReplyString(r.get())));
      conn_.Close();
      return st;
    }
  }
  login_sha_ = ReplyString((*replies)[0].get());
  lookup_sha_ = ReplyString((*replies)[1].get());
  return Status::Ok();
}

Status RedisRouteTable::ConnectLocked() {
  FLARE_RETURN_IF_ERROR(conn_.Connect());
  FLARE_RETURN_IF_ERROR(LoadScriptsLocked());
  auto info = conn_.Command({"INFO", "server"});
  if (!info.ok()) return info.status();
  std::string run_id = RunIdOf(ReplyString(info->get()));
  if (!run_id_.empty() && run_id != run_id_) {
    // Another server process: what we registered may be gone. run_id_ is
    // only updated once that is repaired; the connection is dropped on a
    // failure, so the next call connects and tries again.
    if (Status st = ReRegisterLocked(nullptr); !st.ok()) {
      conn_.Close();
      return st;
    }
    if (options_.remember_routes) lapse_to_report_ = heartbeats_;  // each beat reports it once
  }
  run_id_ = run_id;
  return Status::Ok();
}

RedisCommand RedisRouteTable::GatewayAliveCommand(const std::string& gateway_id) const {
  return {"SET", GatewayKey(gateway_id), "1", "PX", std::to_string(options_.gateway_ttl_ms)};
}

Status RedisRouteTable::ReRegisterLocked(const std::string* only_gateway) {
  // A served table has no routes to restore, and setting liveness keys
  // would hide the lapse its gateways' next beats must report.
  if (!options_.remember_routes) return Status::Ok();
  std::vector<RedisCommand> commands;
  std::set<std::string> gateways;
  if (only_gateway != nullptr) {
    gateways.insert(*only_gateway);
  } else {
    gateways = heartbeats_;
  }
  for (const auto& [key, routes] : owned_) {
    RedisCommand hset = {"HSET", key};
    for (const auto& [sid, route] : routes) {
      if (only_gateway != nullptr && route.gateway_id != *only_gateway) continue;
      hset.push_back(std::to_string(sid));
      hset.push_back(EncodeRoute(route));
      gateways.insert(route.gateway_id);
    }
    if (hset.size() == 2) continue;
    commands.push_back(std::move(hset));
    commands.push_back({"EXPIRE", key, std::to_string(options_.route_ttl_s)});
  }
  for (const auto& gw : gateways) commands.push_back(GatewayAliveCommand(gw));
  if (commands.empty()) return Status::Ok();
  auto replies = conn_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (IsError(r.get())) {
      return conn_.Unavailable("re-registering routes failed: " +
                               std::string(ReplyString(r.get())));
    }
  }
  return Status::Ok();
}

Result<std::vector<RedisReply>> RedisRouteTable::RunLocked(std::vector<RedisCommand> commands,
                                                           bool retry) {
  for (int attempt = 0;; ++attempt) {
    bool fresh = !conn_.connected();
    if (fresh) FLARE_RETURN_IF_ERROR(ConnectLocked());
    // Scripts are named in `commands` and sent by their SHAs on this server.
    std::vector<RedisCommand> sent = commands;
    for (auto& c : sent) {
      if (c[0] == "EVALSHA") c[1] = c[1] == kLoginName ? login_sha_ : lookup_sha_;
    }
    auto replies = conn_.Pipeline(sent);
    if (!replies.ok()) {
      if (!retry || fresh || attempt > 0) return replies.status();
      continue;  // broken: reconnect once and send again
    }
    if (std::none_of(replies->begin(), replies->end(),
                     [](const RedisReply& r) { return IsNoScript(r.get()); })) {
      return replies;
    }
    // The server lost its script cache (SCRIPT FLUSH): load and send again, once.
    FLARE_RETURN_IF_ERROR(LoadScriptsLocked());
    if (attempt > 0) return conn_.Unavailable("scripts missing after SCRIPT LOAD");
  }
}

void RedisRouteTable::RememberLocked(const std::string& key, const DeviceRoute& route,
                                     const std::vector<DeviceRoute>& displaced) {
  if (!options_.remember_routes) return;
  auto& routes = owned_[key];
  for (const DeviceRoute& d : displaced) routes.erase(d.session_id);
  routes[route.session_id] = route;
}

Status RedisRouteTable::RunLogin(const std::string& key, const DeviceRoute& route,
                                 LoginConflict policy, bool retry,
                                 std::vector<DeviceRoute>* displaced) {
  const char* policy_arg = policy == LoginConflict::kExclusive           ? "2"
                           : policy == LoginConflict::kPlatformExclusive ? "1"
                                                                         : "0";
  std::lock_guard lock(mu_);
  auto replies =
      RunLocked({{"EVALSHA", kLoginName, "2", key, GatewayKey(route.gateway_id),
                  std::to_string(route.session_id), EncodeRoute(route), route.platform, policy_arg,
                  std::to_string(options_.route_ttl_s), std::to_string(options_.gateway_ttl_ms)}},
                retry);
  if (!replies.ok()) return replies.status();
  const redisReply* r = replies->front().get();
  if (IsError(r)) return conn_.Unavailable("login script failed: " + std::string(ReplyString(r)));
  if (r->type != REDIS_REPLY_ARRAY) return Internal("redis login script: unexpected reply");
  if (r->elements == 0 || r->elements % 2 == 0) {
    return Internal("redis login script: unexpected reply");
  }
  bool revived = ReplyString(r->element[0]) == "revived";
  std::vector<DeviceRoute> gone;
  for (size_t i = 1; i + 1 < r->elements; i += 2) {
    auto d = DecodeRoute(ReplyString(r->element[i]), ReplyString(r->element[i + 1]));
    // The route is removed all the same: a malformed value only loses its kick.
    if (d) gone.push_back(std::move(*d));
  }
  RememberLocked(key, route, gone);
  if (displaced != nullptr) displaced->insert(displaced->end(), gone.begin(), gone.end());
  // The gateway had been given up for dead (it beat before, its key is
  // gone) before this login brought the key back: lookups may have deleted
  // its other routes, and the next beat would find the key and not restore
  // them. (A gateway's first login finds no key too: nothing to restore.)
  // Restoring them sets the key to "1": the lapse is remembered here for
  // the next beat to report, so that the gateway's sessions catch up on what
  // found no route meanwhile.
  if (revived && heartbeats_.contains(route.gateway_id)) {
    lapse_to_report_.insert(route.gateway_id);
    if (!ReRegisterLocked(&route.gateway_id).ok()) reregister_pending_.insert(route.gateway_id);
  }
  return Status::Ok();
}

Status RedisRouteTable::Register(const std::string& tenant, const std::string& user_id,
                                 const DeviceRoute& route) {
  // The login script with "coexist": one atomic HSET + EXPIRE; safe to retry.
  return RunLogin(RoutesKey(tenant, user_id), route, LoginConflict::kCoexist, true, nullptr);
}

Status RedisRouteTable::RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                           const DeviceRoute& route, LoginConflict policy,
                                           std::vector<DeviceRoute>& displaced) {
  return RunLogin(RoutesKey(tenant, user_id), route, policy, false, &displaced);
}

Status RedisRouteTable::Unregister(const std::string& tenant, const std::string& user_id,
                                   uint64_t session_id) {
  std::string key = RoutesKey(tenant, user_id);
  std::lock_guard lock(mu_);
  if (auto it = owned_.find(key); it != owned_.end()) {
    it->second.erase(session_id);  // not re-registered even if the HDEL below fails
    if (it->second.empty()) owned_.erase(it);
  }
  auto replies = RunLocked({{"HDEL", key, std::to_string(session_id)}}, true);
  if (!replies.ok()) return replies.status();
  const redisReply* r = replies->front().get();
  if (IsError(r)) return conn_.Unavailable("HDEL failed: " + std::string(ReplyString(r)));
  return Status::Ok();
}

// Route hashes expire (so a user nobody looks up does not stay forever),
// but a session may outlive their TTL: the beats renew the hashes of this
// adapter's routes every half TTL, in one pipeline.
void RedisRouteTable::RefreshRouteTtlsLocked() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_ttl_refresh_ < std::chrono::seconds(options_.route_ttl_s) / 2) return;
  std::vector<RedisCommand> commands;
  commands.reserve(owned_.size());
  for (const auto& [key, routes] : owned_) {
    commands.push_back({"EXPIRE", key, std::to_string(options_.route_ttl_s)});
  }
  if (commands.empty() || conn_.Pipeline(commands).ok()) last_ttl_refresh_ = now;
}

Result<GatewayLiveness> RedisRouteTable::Heartbeat(const std::string& gateway_id) {
  std::lock_guard lock(mu_);
  heartbeats_.insert(gateway_id);
  RedisCommand set = GatewayAliveCommand(gateway_id);
  // The old value: nil if the gateway had been given up for dead, "revived"
  // if a login brought the key back since (kLoginScript).
  set.push_back("GET");
  // Not retried: a retry would read the value a lost first attempt set.
  // After a failure the next beat registers this table's routes again.
  auto replies = RunLocked({set}, false);
  if (!replies.ok()) {
    if (options_.remember_routes) reregister_pending_.insert(gateway_id);
    return replies.status();
  }
  RefreshRouteTtlsLocked();
  const redisReply* r = replies->front().get();
  if (IsError(r)) return conn_.Unavailable("SET failed: " + std::string(ReplyString(r)));
  const bool lapsed = r->type == REDIS_REPLY_NIL || ReplyString(r) == "revived";
  // A table served to other processes keeps no routes: the gateway has them.
  if (!options_.remember_routes) return lapsed ? GatewayLiveness::kLapsed : GatewayLiveness::kAlive;
  // A restarted server (new run_id), or a login that revived the key: the
  // routes were registered again then, but pushes found none meanwhile.
  const bool repaired = lapse_to_report_.erase(gateway_id) > 0;
  // The lapse is reported (the gateway tells its sessions to catch up on
  // what was not pushed meanwhile) only when it is known: the key was gone
  // or revived, or the server restarted. A beat that merely failed before
  // (reregister_pending_) has this table register its routes again, to be
  // safe, but is no reason to have every client catch up.
  const GatewayLiveness liveness =
      lapsed || repaired ? GatewayLiveness::kLapsed : GatewayLiveness::kAlive;
  // Beats missed for a TTL (Redis unreachable, the process stalled): other
  // processes' lookups may have deleted our routes; the sessions are still
  // here, so register them again. (A login that revived the key restored
  // them already: RunLogin.)
  if (r->type != REDIS_REPLY_NIL && !reregister_pending_.contains(gateway_id)) return liveness;
  Status st = ReRegisterLocked(&gateway_id);
  if (!st.ok()) {
    reregister_pending_.insert(gateway_id);  // the key exists now: remember to try again
    return st;
  }
  reregister_pending_.erase(gateway_id);
  return liveness;
}

Status RedisRouteTable::Lookup(const std::string& tenant, const std::string& user_id,
                               std::vector<DeviceRoute>& out) {
  std::vector<UserRoute> found;
  FLARE_RETURN_IF_ERROR(LookupMany(tenant, std::span<const std::string>(&user_id, 1), found));
  for (auto& f : found) out.push_back(std::move(f.route));
  return Status::Ok();
}

Status RedisRouteTable::LookupMany(const std::string& tenant, std::span<const std::string> users,
                                   std::vector<UserRoute>& out) {
  if (users.empty()) return Status::Ok();
  std::vector<RedisCommand> commands;
  for (size_t from = 0; from < users.size(); from += kLookupChunk) {
    size_t n = std::min(kLookupChunk, users.size() - from);
    RedisCommand c = {"EVALSHA", kLookupName, std::to_string(n)};
    for (size_t i = from; i < from + n; ++i) c.push_back(RoutesKey(tenant, users[i]));
    c.push_back(kGatewayKeyPrefix);
    commands.push_back(std::move(c));
  }
  std::lock_guard lock(mu_);
  auto replies = RunLocked(std::move(commands), true);
  if (!replies.ok()) return replies.status();
  for (size_t chunk = 0; chunk < replies->size(); ++chunk) {
    const redisReply* r = (*replies)[chunk].get();
    if (IsError(r))
      return conn_.Unavailable("lookup script failed: " + std::string(ReplyString(r)));
    if (r->type != REDIS_REPLY_ARRAY) return Internal("redis lookup script: unexpected reply");
    for (size_t k = 0; k < r->elements; ++k) {
      const redisReply* pairs = r->element[k];
      size_t user = chunk * kLookupChunk + k;
      if (pairs->type != REDIS_REPLY_ARRAY || user >= users.size()) continue;
      for (size_t i = 0; i + 1 < pairs->elements; i += 2) {
        auto route =
            DecodeRoute(ReplyString(pairs->element[i]), ReplyString(pairs->element[i + 1]));
        if (!route) {
          return Internal("redis key " + RoutesKey(tenant, users[user]) + ": malformed route");
        }
        out.push_back({user, std::move(*route)});
      }
    }
  }
  return Status::Ok();
}

}  // namespace flare
