#include "services/signaling/inbox/gateway_inbox.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace flare {

GatewayInbox::GatewayInbox(EventBus& bus, GatewayInboxOptions options, CommandReplies& replies,
                           PushDelivery& delivery, SessionKicks& kicks, Counter* received)
    : bus_(bus),
      options_(std::move(options)),
      dispatcher_(options_.gateway_id, replies, delivery, kicks, received) {}

GatewayInbox::~GatewayInbox() { Stop(); }

Status GatewayInbox::Start() {
  auto consumer = bus_.CreateConsumer("flare-gateway-" + options_.gateway_id,
                                      ConsumerOptions{.start_at_latest = true});
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(consumer).value();
  FLARE_RETURN_IF_ERROR(consumer_->Subscribe(options_.topic, this));
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.join_timeout_ms);
  while (!assigned_ && std::chrono::steady_clock::now() < deadline) {
    FLARE_RETURN_IF_ERROR(PollOnce());
  }
  if (!assigned_) {
    // Not fatal: the consumer keeps trying; replies published before it
    // owns the partitions may be missed (their clients retry).
    spdlog::warn("gateway inbox: no partition of {} assigned after {} ms", options_.topic,
                 options_.join_timeout_ms);
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void GatewayInbox::Stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (!consumer_) return;
  CommitHandled();
  (void)consumer_->Close();
}

void GatewayInbox::OnAssigned(const std::vector<int32_t>& partitions) {
  assigned_ = true;
  spdlog::info("gateway inbox: reading {} partitions of {}", partitions.size(), options_.topic);
}

void GatewayInbox::OnRevoked(const std::vector<int32_t>&) { CommitHandled(); }

void GatewayInbox::Run() {
  auto next_commit = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    if (Status st = PollOnce(); !st.ok()) {
      spdlog::warn("gateway inbox: poll failed: {}", st.ToString());
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_commit) {
      CommitHandled();
      next_commit = now + std::chrono::milliseconds(options_.commit_interval_ms);
    }
  }
}

Status GatewayInbox::PollOnce() {
  auto records = consumer_->Poll(options_.max_poll_records, options_.poll_timeout_ms);
  if (!records.ok()) return records.status();
  for (const BusRecord& record : *records) {
    // Records for other gateways are the bulk of what every gateway reads:
    // skipped by key, never decoded.
    if (record.key == options_.gateway_id) Handle(record);
    handled_[record.partition] = record.offset + 1;
  }
  return Status::Ok();
}

void GatewayInbox::Handle(const BusRecord& record) {
  if (Status st = dispatcher_.Handle(record.value); !st.ok()) {
    spdlog::warn("gateway inbox: record at {}/{} dropped: {}", record.partition, record.offset,
                 st.ToString());
  }
}

// Losing a commit costs only a replay of records already handed over (the
// session's push tracking and the client's request ids absorb it).
void GatewayInbox::CommitHandled() {
  for (const auto& [partition, next] : handled_) {
    Status st = consumer_->Commit(partition, next);
    if (!st.ok() && st.code() != Code::kAborted) {
      spdlog::warn("gateway inbox: commit failed: {}", st.ToString());
    }
  }
  handled_.clear();
}

}  // namespace flare
