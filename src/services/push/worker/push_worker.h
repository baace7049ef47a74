// push-worker (the seed's flare-push/worker): sends push tasks to the
// provider of their (tenant, platform), at most max_in_flight at once;
// retries a retriable failure after an exponential backoff with jitter (or
// the provider's Retry-After, if longer) on the Clock; after max_attempts,
// or when a provider rejects the request itself, publishes a PushDeadLetter
// (flare.im.push.dlq) and keeps the recent ones for the admin read; when a
// provider says the token is gone, disables it in the DeviceStore and does
// not retry. Knows nothing of HTTP or gRPC. A provider's thread only
// classifies its answer: disabling a token and publishing a dead letter
// (which may wait on a database or a broker) are follow-ups that the pump
// thread runs, so a slow device store never stalls a provider.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "ports/device_store.h"
#include "ports/event_bus.h"
#include "ports/push_provider.h"
#include "push/v1/push.pb.h"
#include "services/push/worker/push_stats.h"

namespace flare {

struct PushWorkerOptions {
  int32_t max_attempts = 5;
  int64_t initial_backoff_ms = 1'000;  // doubled per retry, with jitter: [b/2, b]
  int64_t max_backoff_ms = 300'000;
  size_t max_in_flight = 256;  // sends waiting for a provider
  int64_t send_timeout_ms = 10'000;
  size_t max_queued = 100'000;  // due or waiting to retry; Submit refuses more
  size_t dead_letters_kept = 1'000;
  int64_t pump_interval_ms = 20;  // how often due retries are looked for
  std::string dlq_topic = "flare.im.push.dlq";
};

class PushWorker {
 public:
  // `devices` and `dlq` may be null (no token disabling / no DLQ topic).
  PushWorker(PushProviderDirectory& providers, DeviceStore* devices, BusProducer* dlq,
             const Clock& clock, Random& random, Metrics* metrics, PushWorkerOptions options = {});
  ~PushWorker();

  // Queues a task, due now. kUnavailable when the queue is full or the
  // worker stopped.
  Status Submit(push::v1::PushTask task);
  void Start();  // the thread that starts due tasks
  // Stops starting tasks, waits (bounded by the send timeout) for sends in
  // flight; what is still queued is dead-lettered.
  void Stop();
  // Starts every due task while fewer than max_in_flight are in flight,
  // then runs the follow-ups of the answers that came in.
  void Pump();

  size_t Queued() const;
  size_t InFlight() const;
  // The latest dead letters (at most dead_letters_kept), oldest first.
  std::vector<push::v1::PushDeadLetter> RecentDeadLetters() const;
  PushStats StatsOf(const std::string& tenant) const { return stats_->OfTenant(tenant); }
  std::map<std::string, PushStats> StatsByTenant() const { return stats_->ByTenant(); }
  PushStats StatsOfProvider(const std::string& name) const { return stats_->OfProvider(name); }

 private:
  // What an answer leaves to do off the provider's thread.
  struct FollowUp {
    bool disable_token = false;  // else dead-letter
    push::v1::PushTask task;
    std::string provider;
    int http_status = 0;
    std::string reason;
  };

  void Attempt(push::v1::PushTask task);
  void Defer(FollowUp follow_up);
  void RunFollowUp(const FollowUp& follow_up);
  void RunFollowUps();
  void OnResult(push::v1::PushTask task, const std::string& provider, PushSendResult result);
  bool ScheduleRetry(push::v1::PushTask& task, const PushSendResult& result);
  void DeadLetter(const push::v1::PushTask& task, const std::string& provider, int http_status,
                  const std::string& reason);
  void DisableToken(const push::v1::PushTask& task, const std::string& provider,
                    const std::string& reason);
  int64_t BackoffMs(int32_t attempts_made);
  void Finished();
  void RunPump();

  PushProviderDirectory& providers_;
  DeviceStore* devices_;
  BusProducer* dlq_;
  const Clock& clock_;
  Random& random_;
  PushWorkerOptions options_;
  std::shared_ptr<PushStatsBook> stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<int64_t, push::v1::PushTask> queue_;  // by due time (Clock::MonotonicMs)
  size_t in_flight_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;  // Stop is past waiting for sends in flight
  std::deque<FollowUp> follow_ups_;  // at most one per answer
  std::deque<push::v1::PushDeadLetter> recent_dead_;
  std::thread pump_;
};

// The notification a provider gets for a task.
PushNotification ToNotification(const push::v1::PushTask& task);

}  // namespace flare
