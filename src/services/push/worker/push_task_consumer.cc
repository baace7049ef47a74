#include "services/push/worker/push_task_consumer.h"

#include <spdlog/spdlog.h>

#include <map>

namespace flare {
namespace {
constexpr int kPollRecords = 256;
constexpr int kPollTimeoutMs = 100;
constexpr auto kFullQueueWait = std::chrono::milliseconds(50);
}  // namespace

PushTaskConsumer::PushTaskConsumer(EventBus& bus, PushWorker& worker, std::string topic,
                                   std::string group)
    : bus_(bus), worker_(worker), topic_(std::move(topic)), group_(std::move(group)) {}

PushTaskConsumer::~PushTaskConsumer() { Stop(); }

Status PushTaskConsumer::Start() {
  auto consumer = bus_.CreateConsumer(group_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(consumer).value();
  FLARE_RETURN_IF_ERROR(consumer_->Subscribe(topic_, this));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void PushTaskConsumer::Stop(int64_t drain_ms) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    drain_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (consumer_) (void)consumer_->Close();
}

bool PushTaskConsumer::StopNow(bool drained) const {
  return stopping_ && (drained || std::chrono::steady_clock::now() >= drain_until_);
}

// False when stopping before the worker took the task.
bool PushTaskConsumer::SubmitWaiting(push::v1::PushTask task) {
  while (true) {
    Status st = worker_.Submit(task);
    if (st.ok()) return true;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, kFullQueueWait, [&] { return StopNow(false); })) return false;
  }
}

void PushTaskConsumer::Run() {
  bool drained = false;
  while (true) {
    bool draining = false;
    {
      std::lock_guard lock(mu_);
      if (StopNow(drained)) return;
      draining = stopping_;
    }
    // Draining: only what is there already.
    int poll_timeout_ms = draining ? 0 : kPollTimeoutMs;
    auto polled = consumer_->Poll(kPollRecords, poll_timeout_ms);
    if (!polled.ok()) {
      spdlog::warn("push: polling {} failed: {}", topic_, polled.status().ToString());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(kPollTimeoutMs), [&] { return stopping_; });
      continue;
    }
    drained = draining && polled.value().empty();
    std::map<int32_t, int64_t> next_offsets;
    for (const BusRecord& record : polled.value()) {
      push::v1::PushTask task;
      if (!task.ParseFromString(record.value)) {
        undecodable_.fetch_add(1);
        spdlog::warn("push: undecodable task at {}/{}@{} skipped", topic_, record.partition,
                     record.offset);
      } else if (!SubmitWaiting(std::move(task))) {
        break;  // stopping: the rest of the batch is redelivered to the next consumer
      }
      next_offsets[record.partition] = record.offset + 1;
    }
    for (const auto& [partition, next] : next_offsets) {
      Status st = consumer_->Commit(partition, next);
      if (!st.ok() && st.code() != Code::kAborted) {
        spdlog::warn("push: commit of {}/{} failed: {}", topic_, partition, st.ToString());
      }
    }
  }
}

}  // namespace flare
