#include "services/hooks/login_gate.h"

#include "common/ids.h"

namespace flare {

bool HookLoginGate::Selects(const Principal& who) const {
  return engine_.SelectsPre("pre_login", who.tenant, Message());
}

void HookLoginGate::Check(const Principal& who, std::function<void(Status, int32_t)> done) {
  // No message names a login: the event id is who, on which device, when.
  HookUser user{who.user_id, who.device, who.platform,
                "login:" + who.user_id + ":" + who.device + ":" + std::to_string(clock_.NowMs())};
  engine_.RunPre(
      "pre_login", "", who.tenant, Message(),
      [done = std::move(done)](PreSendVerdict verdict) {
        done(std::move(verdict.status), verdict.hook_code);
      },
      user);
}

void AttachGatewayHooks(HookEngine& engine, HookLoginGate& gate, Gateway& gateway,
                        PresenceHub& presence, const Clock& clock) {
  gateway.SetLoginGate(&gate);
  presence.SetChangeListener(
      [&engine, &clock](const std::string& tenant, const ::flare::client::v1::PresenceStatus& s) {
        SystemRandom random;
        std::string event_id =
            std::string(s.online() ? "online-" : "offline-") + MakeUlid(clock.NowMs(), random);
        engine.Post(s.online() ? "post_online" : "post_offline", "", tenant, Message(), s.user_id(),
                    event_id);
      });
}

}  // namespace flare
