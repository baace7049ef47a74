// The Lua scripts of the Redis RouteTable and the route encoding they read
// (see redis_route_table.h for the key layout).
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "ports/route_table.h"

namespace flare::redis_routes {

// Lua: the platform (first field) and gateway id (second field) of an encoded route.
#define FLARE_LUA_ROUTE_FIELDS                                    \
  "local function field(v, from)\n"                               \
  "  local colon = string.find(v, ':', from, true)\n"             \
  "  if not colon then return nil, #v + 1 end\n"                  \
  "  local n = tonumber(string.sub(v, from, colon - 1))\n"        \
  "  if not n then return nil, #v + 1 end\n"                      \
  "  return string.sub(v, colon + 1, colon + n), colon + n + 1\n" \
  "end\n"

// KEYS[1]: the user's routes hash, KEYS[2]: the route's gateway liveness
// key. ARGV: session id, encoded route, platform, policy (0 coexist,
// 1 platform_exclusive, 2 exclusive), routes TTL (s), gateway TTL (ms).
// Returns "revived" or "" first ("revived" when the gateway's liveness key
// was gone: its other routes may have been deleted as dead, the caller
// registers them again), then the session id and encoded route of each
// displaced route. A revived liveness key holds "revived" (a beat sets "1"):
// the gateway's next Heartbeat reports the lapse even when a login of
// another connection or process revived it. Mirrors Displaces() in the
// port header.
inline constexpr const char* kLoginScript = FLARE_LUA_ROUTE_FIELDS R"lua(
local displaced = {}
if ARGV[4] ~= '0' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local sid = all[i]
    if sid ~= ARGV[1] and (ARGV[4] == '2' or field(all[i + 1], 1) == ARGV[3]) then
      displaced[#displaced + 1] = sid
      displaced[#displaced + 1] = all[i + 1]
    end
  end
  for i = 1, #displaced, 2 do redis.call('HDEL', KEYS[1], displaced[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local revived = redis.call('EXISTS', KEYS[2]) == 0
if revived then
  redis.call('SET', KEYS[2], 'revived', 'PX', ARGV[6])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
table.insert(displaced, 1, revived and 'revived' or '')
return displaced
)lua";

// KEYS: users' routes hashes. ARGV[1]: the liveness key prefix. Returns per
// key the flat session/route pairs of live gateways; deletes the others.
inline constexpr const char* kLookupScript = FLARE_LUA_ROUTE_FIELDS R"lua(
local alive = {}
local result = {}
for k = 1, #KEYS do
  local all = redis.call('HGETALL', KEYS[k])
  local live, dead = {}, {}
  for i = 1, #all, 2 do
    local _, after = field(all[i + 1], 1)
    local gw = field(all[i + 1], after) or ''
    if alive[gw] == nil then alive[gw] = redis.call('EXISTS', ARGV[1] .. gw) == 1 end
    if alive[gw] then
      live[#live + 1] = all[i]
      live[#live + 1] = all[i + 1]
    else
      dead[#dead + 1] = all[i]
    end
  end
  for _, sid in ipairs(dead) do redis.call('HDEL', KEYS[k], sid) end
  result[k] = live
end
return result
)lua";

#undef FLARE_LUA_ROUTE_FIELDS

inline constexpr const char* kGatewayKeyPrefix = "flare-gateway:";

// A tenant inside a key or channel name: ':' and '%' percent-encoded, so the
// next ':' ends it.
inline std::string EncodeTenant(const std::string& tenant) {
  std::string out;
  for (char c : tenant) {
    if (c == ':') {
      out += "%3A";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

inline void AppendField(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

inline std::string EncodeRoute(const DeviceRoute& route) {
  std::string out;
  AppendField(out, route.platform);
  AppendField(out, route.gateway_id);
  AppendField(out, route.device);
  return out;
}

inline bool TakeField(std::string_view& in, std::string& field) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(in.data(), in.data() + colon, n);
  if (ec != std::errc() || ptr != in.data() + colon || n > in.size() - colon - 1) return false;
  field.assign(in.substr(colon + 1, n));
  in.remove_prefix(colon + 1 + n);
  return true;
}

inline std::optional<uint64_t> ParseSessionId(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Decodes one session/route pair of a routes hash.
inline std::optional<DeviceRoute> DecodeRoute(std::string_view session, std::string_view value) {
  auto sid = ParseSessionId(session);
  DeviceRoute route;
  if (!sid || !TakeField(value, route.platform) || !TakeField(value, route.gateway_id) ||
      !TakeField(value, route.device)) {
    return std::nullopt;
  }
  route.session_id = *sid;
  return route;
}

}  // namespace flare::redis_routes
