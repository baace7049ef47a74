// The gateway's hook points. pre_login: the gateway's LoginGate, asking the
// selected pre_login hooks before a login is registered. A rejection
// refuses the login (the client gets AUTH_FAILED with the hook's reason and
// code); a failure follows the hook's failure policy (fail_closed:
// UNAVAILABLE). post_online / post_offline: queued from the presence hub's
// changes, never waited for. Embedded mode and the signaling-gateway role
// wire them with AttachGatewayHooks.
#pragma once

#include "services/hooks/hook_engine.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/online/presence.h"

namespace flare {

class HookLoginGate final : public LoginGate {
 public:
  HookLoginGate(HookEngine& engine, const Clock& clock) : engine_(engine), clock_(clock) {}
  bool Selects(const Principal& who) const override;
  void Check(const Principal& who, std::function<void(Status, int32_t)> done) override;

 private:
  HookEngine& engine_;
  const Clock& clock_;
};

// Sets `gate` (which must outlive `gateway`) as the gateway's login gate and
// posts post_online / post_offline on `presence`'s changes. Before the
// first login.
void AttachGatewayHooks(HookEngine& engine, HookLoginGate& gate, Gateway& gateway,
                        PresenceHub& presence, const Clock& clock);

}  // namespace flare
