// Gateway limits: per-user request rates, connections per user and
// unauthenticated connections per source address. The counts change on
// open, auth and close only; a message costs one bucket in its user's shard.
#include "services/signaling/gateway/gateway.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {
constexpr uint16_t kCloseTooManyForUser = 4005;
constexpr uint16_t kCloseTooManyUnauthenticated = 4006;

std::string UserKey(const Principal& who) { return who.tenant + '\n' + who.user_id; }

// "10.0.0.1:5555" -> "10.0.0.1", "[::1]:5555" or "::1:5555" -> the part
// before the last ':' (the port); anything without a port as it is.
std::string AddressKey(const Connection& conn) {
  std::string remote = conn.RemoteAddress();
  size_t colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}
}  // namespace

bool Gateway::WithinRate(RateLimiter& limiter, const SessionPtr& s, const Principal& who,
                         const std::string& request_id, const char* what) {
  RateLimiter::Decision d = limiter.Take(who.tenant, who.user_id);
  if (d.allowed) return true;
  deps_.metrics.rate_limited.Add();
  s->ReplyRateLimited(
      request_id,
      std::string(what) + " too often; retry in " + std::to_string(d.retry_after_ms) + " ms",
      d.retry_after_ms);
  return false;
}

bool Gateway::AdmitUnauthenticated(const SessionPtr& s) {
  if (unauthenticated_.Acquire(AddressKey(s->connection()), s->id(),
                               options_.max_unauthenticated_per_address)) {
    return true;
  }
  deps_.metrics.connections_refused.Add();
  s->Close(kCloseTooManyUnauthenticated, "too many unauthenticated connections from this address");
  return false;
}

bool Gateway::AdmitUser(const SessionPtr& s, const Principal& who, const std::string& request_id) {
  if (!user_connections_.Acquire(UserKey(who), s->id(), options_.max_connections_per_user)) {
    deps_.metrics.connections_refused.Add();
    std::string why = "too many connections for this user (at most " +
                      std::to_string(options_.max_connections_per_user) + ")";
    s->ReplyError(request_id, pb::ERROR_CODE_RATE_LIMITED, why);
    s->Close(kCloseTooManyForUser, why);
    return false;
  }
  unauthenticated_.Release(AddressKey(s->connection()), s->id());
  return true;
}

void Gateway::ReleaseLimits(const SessionPtr& s) {
  unauthenticated_.Release(AddressKey(s->connection()), s->id());
  if (auto who = s->principal()) user_connections_.Release(UserKey(*who), s->id());
}

}  // namespace flare
