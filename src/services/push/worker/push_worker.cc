#include "services/push/worker/push_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace flare {

PushNotification ToNotification(const push::v1::PushTask& t) {
  PushNotification n;
  n.task_id = t.task_id();
  n.tenant = t.tenant();
  n.user_id = t.user_id();
  n.device_id = t.device_id();
  n.platform = t.platform();
  n.token = t.token();
  n.title = t.title();
  n.body = t.body();
  if (t.has_badge()) n.badge = t.badge();
  n.collapse_id = t.collapse_id();
  n.data.insert(t.data().begin(), t.data().end());
  return n;
}

PushWorker::PushWorker(PushProviderDirectory& providers, DeviceStore* devices, BusProducer* dlq,
                       const Clock& clock, Random& random, Metrics* metrics,
                       PushWorkerOptions options)
    : providers_(providers),
      devices_(devices),
      dlq_(dlq),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      stats_(PushStatsBook::Make(metrics)) {}

PushWorker::~PushWorker() { Stop(); }

Status PushWorker::Submit(push::v1::PushTask task) {
  std::lock_guard lock(mu_);
  if (stopping_) return Unavailable("push worker stopped");
  if (queue_.size() + in_flight_ >= options_.max_queued) {
    return Unavailable("push worker queue is full");
  }
  queue_.emplace(clock_.MonotonicMs(), std::move(task));
  cv_.notify_all();
  return Status::Ok();
}

void PushWorker::Pump() {
  std::vector<push::v1::PushTask> due;
  {
    std::lock_guard lock(mu_);
    int64_t now = clock_.MonotonicMs();
    while (!stopping_ && !queue_.empty() && queue_.begin()->first <= now &&
           in_flight_ < options_.max_in_flight) {
      due.push_back(std::move(queue_.begin()->second));
      queue_.erase(queue_.begin());
      ++in_flight_;
    }
  }
  for (auto& task : due) Attempt(std::move(task));
  RunFollowUps();
}

void PushWorker::Defer(FollowUp follow_up) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      follow_ups_.push_back(std::move(follow_up));
      cv_.notify_all();
      return;
    }
  }
  // An answer after Stop gave up waiting (the provider's own close answers
  // what it still held): nobody pumps any more, so it is handled here.
  RunFollowUp(follow_up);
}

void PushWorker::RunFollowUp(const FollowUp& f) {
  if (f.disable_token) {
    DisableToken(f.task, f.provider, f.reason);
  } else {
    DeadLetter(f.task, f.provider, f.http_status, f.reason);
  }
}

void PushWorker::RunFollowUps() {
  std::deque<FollowUp> todo;
  {
    std::lock_guard lock(mu_);
    todo.swap(follow_ups_);
  }
  for (const FollowUp& f : todo) RunFollowUp(f);
}

void PushWorker::Attempt(push::v1::PushTask task) {
  PushProviderDirectory::Choice choice = providers_.Find(task.tenant(), task.platform());
  if (choice.provider == nullptr) {
    DeadLetter(task, choice.name, 0,
               "no push provider '" + choice.name + "' for platform '" + task.platform() + "'");
    return Finished();
  }
  task.set_attempt(task.attempt() + 1);
  PushNotification notification = ToNotification(task);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.send_timeout_ms);
  choice.provider->Send(notification, deadline,
                        [this, task = std::move(task), name = choice.name](PushSendResult r) {
                          OnResult(task, name, std::move(r));
                        });
}

void PushWorker::OnResult(push::v1::PushTask task, const std::string& provider,
                          PushSendResult result) {
  using Kind = PushSendResult::Kind;
  if (result.kind == Kind::kDelivered) {
    stats_->Count(task.tenant(), provider, PushEvent::kSent);
    return Finished();
  }
  stats_->Count(task.tenant(), provider, PushEvent::kFailed);
  if (result.kind == Kind::kTokenInvalid) {
    Defer({true, std::move(task), provider, result.http_status, result.reason});
  } else if (result.kind == Kind::kRejected) {
    Defer({false, std::move(task), provider, result.http_status, result.reason});
  } else {
    std::string tenant = task.tenant();  // ScheduleRetry moves the task into the queue
    if (ScheduleRetry(task, result)) {
      stats_->Count(tenant, provider, PushEvent::kRetried);
    } else {
      Defer({false, std::move(task), provider, result.http_status, result.reason});
    }
  }
  Finished();
}

// Queues the task again (moved from `task`) unless its attempts are used up
// or the worker stops (then `task` is left as it was).
bool PushWorker::ScheduleRetry(push::v1::PushTask& task, const PushSendResult& result) {
  if (task.attempt() >= options_.max_attempts) return false;
  int64_t wait = BackoffMs(task.attempt());
  if (result.retry_after) wait = std::max<int64_t>(wait, result.retry_after->count());
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  queue_.emplace(clock_.MonotonicMs() + wait, std::move(task));
  return true;
}

int64_t PushWorker::BackoffMs(int32_t attempts_made) {
  int shift = std::min(attempts_made - 1, 30);
  int64_t base = std::min(options_.initial_backoff_ms << shift, options_.max_backoff_ms);
  // Equal jitter: half fixed, half random, so tasks that failed together
  // (a provider outage) come back spread out, each still waiting at least
  // half its backoff.
  int64_t half = base / 2;
  std::lock_guard lock(mu_);  // Random is not thread-safe
  return base - half + static_cast<int64_t>(random_.Next() % static_cast<uint64_t>(half + 1));
}

void PushWorker::DisableToken(const push::v1::PushTask& task, const std::string& provider,
                              const std::string& reason) {
  if (devices_ != nullptr) {
    Status st = devices_->DisableToken(task.tenant(), task.platform(), task.token(), reason);
    if (!st.ok()) {
      spdlog::warn("push: disabling a {} token of tenant {} failed: {}", provider, task.tenant(),
                   st.ToString());
      return;
    }
  }
  stats_->Count(task.tenant(), provider, PushEvent::kTokenDisabled);
}

void PushWorker::DeadLetter(const push::v1::PushTask& task, const std::string& provider,
                            int http_status, const std::string& reason) {
  push::v1::PushDeadLetter letter;
  *letter.mutable_task() = task;
  letter.set_http_status(http_status);
  letter.set_reason(reason);
  letter.set_failed_ms(clock_.NowMs());
  if (dlq_ != nullptr) {
    std::string key = task.tenant() + "/" + task.user_id();
    Status st = dlq_->Publish(options_.dlq_topic, key, letter.SerializeAsString(),
                              [id = task.task_id()](Status published) {
                                if (!published.ok()) {
                                  spdlog::error("push: dead letter {} not published: {}", id,
                                                published.ToString());
                                }
                              });
    if (!st.ok()) {
      spdlog::error("push: dead letter {} not published: {}", task.task_id(), st.ToString());
    }
  }
  {
    std::lock_guard lock(mu_);
    recent_dead_.push_back(std::move(letter));
    while (recent_dead_.size() > options_.dead_letters_kept) recent_dead_.pop_front();
  }
  stats_->Count(task.tenant(), provider, PushEvent::kDeadLettered);
}

void PushWorker::Finished() {
  std::lock_guard lock(mu_);
  --in_flight_;
  cv_.notify_all();  // a slot is free; Stop may be waiting for the last one
}

void PushWorker::Start() {
  pump_ = std::thread([this] { RunPump(); });
}

void PushWorker::RunPump() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Submit, Finished and Defer wake it; follow-ups that came in while it
    // pumped are run without waiting.
    if (follow_ups_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.pump_interval_ms));
    }
    if (stopping_) break;
    lock.unlock();
    Pump();
    lock.lock();
  }
}

void PushWorker::Stop() {
  std::multimap<int64_t, push::v1::PushTask> left;
  {
    std::unique_lock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (pump_.joinable()) pump_.join();
  {
    // A provider answers every send by its deadline (its `done` runs once).
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.send_timeout_ms + 1'000),
                 [&] { return in_flight_ == 0; });
    left.swap(queue_);
    stopped_ = true;  // later answers run their follow-ups at once (Defer)
  }
  RunFollowUps();  // the answers of the last sends in flight
  for (auto& [due, task] : left) {
    DeadLetter(task, PushProviderForPlatform(task.platform()), 0,
               "push worker stopped before the task was sent");
  }
}

size_t PushWorker::Queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t PushWorker::InFlight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

std::vector<push::v1::PushDeadLetter> PushWorker::RecentDeadLetters() const {
  std::lock_guard lock(mu_);
  return {recent_dead_.begin(), recent_dead_.end()};
}

}  // namespace flare
