#include "services/signaling/inbox/gateway_outbox.h"

#include "services/signaling/inbox/bus_inbox_transport.h"
#include "services/signaling/inbox/gateway_record_codec.h"

namespace flare {

GatewayOutbox::GatewayOutbox(GatewayOutboxOptions options, CommandReplies& local_replies,
                             PushDelivery& local_delivery,
                             std::unique_ptr<InboxTransport> transport)
    : options_(std::move(options)),
      local_replies_(local_replies),
      local_delivery_(local_delivery),
      transport_(std::move(transport)) {}

GatewayOutbox::GatewayOutbox(GatewayOutboxOptions options, CommandReplies& local_replies,
                             PushDelivery& local_delivery, std::unique_ptr<BusProducer> producer,
                             Counter* publish_failures)
    : GatewayOutbox(options, local_replies, local_delivery,
                    std::make_unique<BusInboxTransport>(options.topic, std::move(producer),
                                                        publish_failures)) {}

void GatewayOutbox::OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) {
  if (to.gateway_id == options_.local_gateway_id) return local_replies_.OnCommandDone(to, outcome);
  if (to.session_id == 0 || to.gateway_id.empty()) return;  // nobody waits for it
  transport_->Publish(to.gateway_id, EncodeInboxOutcome(to, outcome), "an outcome");
}

void GatewayOutbox::Deliver(const std::string& gateway_id, std::span<const SessionPushes> pushes) {
  if (gateway_id == options_.local_gateway_id) return local_delivery_.Deliver(pushes);
  for (auto& record : EncodeInboxDelivery(pushes, options_.max_record_bytes)) {
    transport_->Publish(gateway_id, std::move(record), "pushes");
  }
}

void GatewayOutbox::Notify(const std::string& gateway_id, const std::vector<uint64_t>& session_ids,
                           const std::shared_ptr<const SharedFrame>& frame) {
  if (gateway_id == options_.local_gateway_id) {
    return local_delivery_.Notify(session_ids, frame);
  }
  transport_->Publish(gateway_id, EncodeInboxNotice(session_ids, *frame), "a notice");
}

void GatewayOutbox::Kick(const std::string& gateway_id, uint64_t session_id,
                         const std::string& reason) {
  transport_->Publish(gateway_id, EncodeInboxKick(session_id, reason), "a kick");
}

}  // namespace flare
