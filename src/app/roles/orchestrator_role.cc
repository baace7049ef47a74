// message-orchestrator as a process: validates what the gateways submit
// (message.v1.MessageOrchestratorService) and publishes the commands on
// the ingest stream, keyed by conversation. A command the stream did not
// take is answered UNAVAILABLE through the gateway inbox (either transport).
// The pre-send and pre-message-op hooks of [[hooks]] run in front of the
// stream, as in embedded mode; their refusals go the same way.
#include <spdlog/spdlog.h>

#include "app/hook_wiring.h"
#include "app/roles/role.h"
#include "app/wiring.h"
#include "common/clock.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"
#include "services/hooks/pre_send_ingest.h"
#include "services/message_orchestrator/bus_ingest.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/signaling/inbox/gateway_outbox.h"

namespace flare {
namespace {

class OrchestratorRole final : public Role {
 public:
  OrchestratorRole(RoleDeps& deps, std::unique_ptr<BusProducer> ingest,
                   std::unique_ptr<InboxTransport> replies, std::unique_ptr<HookStack> hooks)
      : outbox_(GatewayOutboxOptions{deps.config.bus_gateway_topic, NewInstanceId("orch")},
                no_gateway_, no_gateway_, std::move(replies)),
        ingest_(std::move(ingest), deps.config.bus_ingest_topic, outbox_),
        hooks_(std::move(hooks)),
        pre_send_(hooks_->engine(), ingest_, outbox_),
        orchestrator_(deps.access, pre_send_, SystemClock::Instance(),
                      {static_cast<size_t>(deps.config.max_message_bytes), 128}),
        service_(NewMessageOrchestratorGrpcService(orchestrator_)) {}

  ~OrchestratorRole() override { Stop(); }

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "message.v1.MessageOrchestratorService"; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    // The gRPC server has stopped: nothing is submitted any more. What
    // was published reaches the stream (bounded); the rest is answered.
    if (Status st = ingest_.Flush(5'000); !st.ok()) spdlog::warn("{}", st.ToString());
    // A send whose hook answers after this is answered UNAVAILABLE.
    hooks_->Close();
    ingest_.Close(1'000);
    outbox_.Close(1'000);
  }

 private:
  NoLocalGateway no_gateway_;
  GatewayOutbox outbox_;
  BusIngest ingest_;
  std::unique_ptr<HookStack> hooks_;
  PreSendIngest pre_send_;  // hands to ingest_ what the hooks let through
  MessageOrchestrator orchestrator_;
  RpcServicePtr service_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Role>> MakeOrchestratorRole(RoleDeps& deps) {
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  auto ingest = (*bus)->CreateProducer();
  if (!ingest.ok()) return ingest.status();
  // A queue of its own, as in the embedded server (or the gRPC delivery).
  auto replies = deps.shared.NewInboxTransport();
  if (!replies.ok()) return replies.status();
  auto hooks = HookStack::Open(deps.config, &deps.shared.metrics());
  if (!hooks.ok()) return hooks.status();
  return std::unique_ptr<Role>(new OrchestratorRole(
      deps, std::move(ingest).value(), std::move(replies).value(), std::move(hooks).value()));
}

}  // namespace flare
