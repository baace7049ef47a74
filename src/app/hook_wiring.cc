#include "app/hook_wiring.h"

#include <spdlog/spdlog.h>

#include "adapters/grpc_hooks/grpc_hook_transport.h"
#include "app/wiring.h"
#include "common/clock.h"
#include "ports/store_factory.h"

namespace flare {

HookSettingsOptions HookSettingsOptionsFrom(const Config& config) {
  HookSettingsOptions options;
  options.reload_interval_ms = config.hook_admin_reload_interval_ms;
  return options;
}

void LoadSavedHooks(HookSettings& settings) {
  if (Status st = settings.Load(); !st.ok()) {
    spdlog::error("hooks: the saved hook list is not in force, the config's [[hooks]] are: {}",
                  st.ToString());
  }
}

Result<std::unique_ptr<HookStack>> HookStack::Open(const Config& config, Metrics* metrics) {
  auto dead_letters = OpenHookDeadLetters(config);
  if (!dead_letters.ok()) return dead_letters.status();
  auto settings_store = OpenSettingsStore(config);
  if (!settings_store.ok()) return settings_store.status();
  std::unique_ptr<HookStack> stack(new HookStack());
  stack->dead_letters_ = std::move(dead_letters).value();
  stack->transport_ = MakeHookTransport();
  stack->engine_ = std::make_unique<HookEngine>(
      *stack->transport_, *stack->dead_letters_, SystemClock::Instance(), metrics,
      HookEngineOptions{.max_message_bytes = static_cast<size_t>(config.max_message_bytes)});
  FLARE_RETURN_IF_ERROR(stack->engine_->Configure(config.hooks));
  stack->settings_store_ = std::move(settings_store).value();
  stack->settings_ =
      std::make_unique<HookSettings>(*stack->settings_store_, *stack->engine_,
                                     SystemClock::Instance(), HookSettingsOptionsFrom(config));
  LoadSavedHooks(*stack->settings_);
  stack->engine_->Start();
  stack->settings_->Start();
  return stack;
}

void HookStack::Close() {
  if (closed_) return;
  closed_ = true;
  settings_->Stop();
  transport_->Close();  // no hook callback after this
  engine_->Stop();
}

}  // namespace flare
