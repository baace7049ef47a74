// The sending side of the gateway inbox: outcomes and pushes for this
// process's own gateway go to it directly; those for the gateway of another
// process are encoded as inbox records and handed to an InboxTransport
// (the Kafka inbox topic, or a gRPC stream to that gateway; see
// bus.gateway_delivery). Publishing never blocks: a record the transport
// does not take is lost (counted and logged at most once a second); its
// client retries with its idempotency key or syncs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "ports/event_bus.h"
#include "services/push/server/push_server.h"
#include "services/signaling/inbox/inbox_transport.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct GatewayOutboxOptions {
  std::string topic = "flare.gateways";
  std::string local_gateway_id;
  // Pushes for one gateway are cut into records of about this size at
  // most: under Kafka's default message.max.bytes (1 MB), which a bigger
  // record would exceed and lose every push in it.
  size_t max_record_bytes = 512 * 1024;
};

class GatewayOutbox final : public CommandReplies, public GatewayRouter {
 public:
  // `local_replies` and `local_delivery` are this process's gateway; only
  // their addresses are taken here.
  GatewayOutbox(GatewayOutboxOptions options, CommandReplies& local_replies,
                PushDelivery& local_delivery, std::unique_ptr<InboxTransport> transport);
  // On the event bus (a BusInboxTransport on options.topic);
  // `publish_failures` may be null.
  GatewayOutbox(GatewayOutboxOptions options, CommandReplies& local_replies,
                PushDelivery& local_delivery, std::unique_ptr<BusProducer> producer,
                Counter* publish_failures);
  ~GatewayOutbox() override { Close(0); }

  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override;
  void Deliver(const std::string& gateway_id, std::span<const SessionPushes> pushes) override;
  void Notify(const std::string& gateway_id, const std::vector<uint64_t>& session_ids,
              const std::shared_ptr<const SharedFrame>& frame) override;
  // Published even for the local gateway (which kicks its own sessions
  // itself, so never asks): its inbox hands the kick back to it.
  void Kick(const std::string& gateway_id, uint64_t session_id, const std::string& reason) override;

  // Waits up to `timeout_ms` for what is published to be delivered, then
  // stops the transport: later records for other gateways are not sent.
  void Close(int timeout_ms) { transport_->Close(timeout_ms); }

 private:
  const GatewayOutboxOptions options_;
  CommandReplies& local_replies_;
  PushDelivery& local_delivery_;
  std::unique_ptr<InboxTransport> transport_;
};

}  // namespace flare
