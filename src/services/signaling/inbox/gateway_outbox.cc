#include "services/signaling/inbox/gateway_outbox.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>

#include "services/signaling/inbox/gateway_record_codec.h"

namespace flare {

namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

GatewayOutbox::GatewayOutbox(GatewayOutboxOptions options, CommandReplies& local_replies,
                             PushDelivery& local_delivery, std::unique_ptr<BusProducer> producer,
                             Counter* publish_failures)
    : options_(std::move(options)),
      local_replies_(local_replies),
      local_delivery_(local_delivery),
      producer_(std::move(producer)),
      publish_failures_(publish_failures) {}

void GatewayOutbox::OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) {
  if (to.gateway_id == options_.local_gateway_id) return local_replies_.OnCommandDone(to, outcome);
  if (to.session_id == 0 || to.gateway_id.empty()) return;  // nobody waits for it
  Publish(to.gateway_id, EncodeInboxOutcome(to, outcome), "an outcome");
}

void GatewayOutbox::Deliver(const std::string& gateway_id, std::span<const SessionPushes> pushes) {
  if (gateway_id == options_.local_gateway_id) return local_delivery_.Deliver(pushes);
  for (const auto& record : EncodeInboxDelivery(pushes, options_.max_record_bytes)) {
    Publish(gateway_id, record, "pushes");
  }
}

void GatewayOutbox::Notify(const std::string& gateway_id, const std::vector<uint64_t>& session_ids,
                           const std::shared_ptr<const SharedFrame>& frame) {
  if (gateway_id == options_.local_gateway_id) {
    return local_delivery_.Notify(session_ids, frame);
  }
  Publish(gateway_id, EncodeInboxNotice(session_ids, *frame), "a notice");
}

void GatewayOutbox::Kick(const std::string& gateway_id, uint64_t session_id,
                         const std::string& reason) {
  Publish(gateway_id, EncodeInboxKick(session_id, reason), "a kick");
}

void GatewayOutbox::Close(int timeout_ms) {
  std::lock_guard lock(mu_);
  if (!producer_) return;
  if (Status st = producer_->Flush(timeout_ms); !st.ok()) {
    spdlog::warn("gateway inbox: records for other gateways left unsent: {}", st.ToString());
  }
  producer_.reset();
}

void GatewayOutbox::Publish(const std::string& gateway_id, const std::string& value,
                            const char* what) {
  std::shared_lock lock(mu_);
  if (!producer_) return;  // shutting down: the clients retry or sync
  Status queued = producer_->Publish(options_.topic, gateway_id, value,
                                     [this, gateway_id, what](Status stored) {
                                       if (!stored.ok()) Failed(gateway_id, what, stored);
                                     });
  if (!queued.ok()) Failed(gateway_id, what, queued);
}

// Counted always, logged at most once a second (a broker outage would fail
// every record).
void GatewayOutbox::Failed(const std::string& gateway_id, const char* what, const Status& status) {
  if (publish_failures_ != nullptr) publish_failures_->Add();
  int64_t now = SteadyNowMs();
  int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  if (now - last < 1'000 || !last_log_ms_.compare_exchange_strong(last, now)) {
    unlogged_failures_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  int64_t more = unlogged_failures_.exchange(0, std::memory_order_relaxed);
  spdlog::warn("gateway inbox: {} for gateway {} not published ({} more since the last report): {}",
               what, gateway_id, more, status.ToString());
}

}  // namespace flare
