// Closing one of this process's gateway sessions on behalf of a login
// elsewhere: a login that registered on another gateway displaced it (the
// login-conflict policy), and that gateway's kick arrives through the
// gateway inbox.
#pragma once

#include <cstdint>
#include <string>

namespace flare {

class SessionKicks {
 public:
  virtual ~SessionKicks() = default;
  // Tells the session's client `reason` and closes the connection, as a
  // kick by a login on this gateway does. Unknown sessions (gone already)
  // are skipped.
  virtual void KickSession(uint64_t session_id, const std::string& reason) = 0;
};

}  // namespace flare
