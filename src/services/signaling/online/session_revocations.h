// Revoked sessions: after POST /v1/users/{user}/revoke-sessions the tokens
// the user was issued before then no longer log in, over WebSocket, QUIC or
// the HTTP API; tokens issued afterwards do. Without this a revocation only
// closes the open connections, and a client (or whoever copied its token)
// logs straight back in with the same token until it expires.
//
// One SettingsStore document per revoked user, "sessions_revoked/<tenant>/
// <user>", holding the second of the last revocation; every process reads
// it at each login (so a revocation holds on every gateway of a cluster at
// once, and survives restarts). A token is refused when its "iat" is in an
// earlier second: a token issued in the same second as the revocation still
// logs in, and a token without "iat" cannot show it is newer and is refused
// once its user has been revoked.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "ports/settings_store.h"
#include "services/signaling/online/token.h"

namespace flare {

class SessionRevocations {
 public:
  SessionRevocations(SettingsStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Refuses the user's tokens issued before now; the second it took effect.
  Result<int64_t> Revoke(const std::string& tenant, const std::string& user_id);
  // Whether `who` logged in with a token its user's revocation refuses
  // (Unavailable when the store cannot be read: the login is not let in).
  Result<bool> Refuses(const Principal& who);

 private:
  SettingsStore& store_;
  const Clock& clock_;
};

}  // namespace flare
