#include "app/hook_wiring.h"

#include "adapters/grpc_hooks/grpc_hook_transport.h"
#include "app/wiring.h"
#include "common/clock.h"

namespace flare {

Result<std::unique_ptr<HookStack>> HookStack::Open(const Config& config, Metrics* metrics) {
  auto dead_letters = OpenHookDeadLetters(config);
  if (!dead_letters.ok()) return dead_letters.status();
  std::unique_ptr<HookStack> stack(new HookStack());
  stack->dead_letters_ = std::move(dead_letters).value();
  stack->transport_ = MakeHookTransport();
  stack->engine_ = std::make_unique<HookEngine>(
      *stack->transport_, *stack->dead_letters_, SystemClock::Instance(), metrics,
      HookEngineOptions{.max_message_bytes = static_cast<size_t>(config.max_message_bytes)});
  FLARE_RETURN_IF_ERROR(stack->engine_->Configure(config.hooks));
  stack->engine_->Start();
  return stack;
}

void HookStack::Close() {
  if (closed_) return;
  closed_ = true;
  transport_->Close();  // no hook callback after this
  engine_->Stop();
}

}  // namespace flare
