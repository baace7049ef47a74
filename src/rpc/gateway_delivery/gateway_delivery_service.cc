// The gateway's side of signaling.gateway.v1.GatewayDeliveryService: each
// record of a batch for this gateway goes to the InboxDispatcher, then the
// batch is acked.
#include <spdlog/spdlog.h>

#include "rpc/common/call_metadata.h"
#include "rpc/gateway_delivery/gateway_delivery_grpc.h"
#include "signaling/gateway/v1/delivery.grpc.pb.h"

namespace flare {
namespace {

namespace dpb = ::signaling::gateway::v1;

class GatewayDeliveryGrpcService final : public dpb::GatewayDeliveryService::Service {
 public:
  explicit GatewayDeliveryGrpcService(InboxDispatcher& dispatcher) : dispatcher_(dispatcher) {}

  grpc::Status Deliver(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<dpb::DeliveryAck, dpb::DeliveryBatch>* stream) override {
    auto trace = rpc::ReadIncomingTrace(*context);
    if (!trace.ok()) return rpc::ToGrpcStatus(trace.status(), *context);
    ScopedTrace scope(*trace);
    spdlog::debug("rpc signaling.gateway.v1.GatewayDeliveryService/Deliver opened peer={}",
                  context->peer());
    // Synchronous on purpose: handing a record to the gateway only queues
    // frames on its sessions, so a batch is acked before the next is read
    // and the ack means "handed over", in order.
    dpb::DeliveryBatch batch;
    dpb::DeliveryAck ack;
    while (stream->Read(&batch)) {
      if (batch.gateway_id() != dispatcher_.gateway_id()) {
        spdlog::info("gateway delivery: refused records for gateway {} from {} (this is {})",
                     batch.gateway_id(), context->peer(), dispatcher_.gateway_id());
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "this is gateway " + dispatcher_.gateway_id());
      }
      for (const std::string& record : batch.records()) {
        if (Status st = dispatcher_.Handle(record); !st.ok()) {
          spdlog::warn("gateway delivery: record of batch {} from {} dropped: {}", batch.batch_id(),
                       context->peer(), st.ToString());
        }
      }
      ack.set_batch_id(batch.batch_id());
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }

 private:
  InboxDispatcher& dispatcher_;
};

}  // namespace

RpcServicePtr NewGatewayDeliveryGrpcService(InboxDispatcher& dispatcher) {
  return RpcServicePtr(new GatewayDeliveryGrpcService(dispatcher));
}

}  // namespace flare
