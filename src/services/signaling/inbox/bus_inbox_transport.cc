#include "services/signaling/inbox/bus_inbox_transport.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>

namespace flare {

namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

thread_local int scope_depth = 0;
thread_local std::vector<std::function<void()>>* deferred = nullptr;

}  // namespace

// The deferred list is made on first use: most scopes (one process, the
// bus) defer nothing.
InboxBatchScope::InboxBatchScope() { ++scope_depth; }

InboxBatchScope::~InboxBatchScope() {
  if (--scope_depth > 0 || deferred == nullptr) return;
  std::unique_ptr<std::vector<std::function<void()>>> run(deferred);
  deferred = nullptr;
  for (auto& at_end : *run) at_end();
}

bool InboxBatchScope::Active() { return scope_depth > 0; }

void InboxBatchScope::Defer(std::function<void()> at_end) {
  if (scope_depth == 0) return;
  if (deferred == nullptr) deferred = new std::vector<std::function<void()>>();
  deferred->push_back(std::move(at_end));
}

void InboxLosses::Lost(const std::string& gateway_id, std::string_view what, const Status& status,
                       int64_t records) {
  if (counter_ != nullptr) counter_->Add(records);
  count_.fetch_add(records, std::memory_order_relaxed);
  int64_t now = SteadyNowMs();
  int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  if (now - last < 1'000 || !last_log_ms_.compare_exchange_strong(last, now)) {
    unlogged_.fetch_add(records, std::memory_order_relaxed);
    return;
  }
  int64_t more = unlogged_.exchange(0, std::memory_order_relaxed);
  spdlog::warn("gateway inbox: {} for gateway {} not delivered ({} more since the last report): {}",
               what, gateway_id, more, status.ToString());
}

void BusInboxTransport::Publish(const std::string& gateway_id, std::string record,
                                const char* what) {
  std::shared_lock lock(mu_);
  if (!producer_) return;  // shutting down: the clients retry or sync
  Status queued =
      producer_->Publish(topic_, gateway_id, record, [this, gateway_id, what](Status stored) {
        if (!stored.ok()) losses_.Lost(gateway_id, what, stored);
      });
  if (!queued.ok()) losses_.Lost(gateway_id, what, queued);
}

void BusInboxTransport::Close(int timeout_ms) {
  std::lock_guard lock(mu_);
  if (!producer_) return;
  if (Status st = producer_->Flush(timeout_ms); !st.ok()) {
    spdlog::warn("gateway inbox: records for other gateways left unsent: {}", st.ToString());
  }
  producer_.reset();
}

}  // namespace flare
