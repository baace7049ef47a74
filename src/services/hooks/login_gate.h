// The pre_login hook point: the gateway's LoginGate, asking the selected
// pre_login hooks before a login is registered. A rejection refuses the
// login (the client gets AUTH_FAILED with the hook's reason and code); a
// failure follows the hook's failure policy (fail_closed: UNAVAILABLE).
#pragma once

#include "services/hooks/hook_engine.h"
#include "services/signaling/gateway/gateway.h"

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

}  // namespace flare
