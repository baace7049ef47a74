// Feeds push-worker from the event bus: consumes flare.im.push.tasks (the
// in-process bus in embedded mode, Kafka in a cluster) in the push
// workers' consumer group, hands each PushTask to PushWorker::Submit and
// commits a batch once every task of it was queued. A full worker queue
// holds the consumer back (it waits and submits the same task again). The
// worker's queue is in memory: tasks queued but not yet sent when the
// process dies are lost (committed), like post-send hook deliveries.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ports/event_bus.h"
#include "services/push/worker/push_worker.h"

namespace flare {

class PushTaskConsumer : private BusConsumerListener {
 public:
  PushTaskConsumer(EventBus& bus, PushWorker& worker, std::string topic, std::string group);
  ~PushTaskConsumer() override;

  // Joins the group and starts the polling thread.
  Status Start();
  // With drain_ms > 0, first hands the worker what is on the topic until
  // a poll comes back empty or drain_ms passed: on a bus that keeps
  // nothing across a restart (the in-process one) those tasks would
  // otherwise vanish uncounted; the worker dead-letters what it cannot
  // send. On Kafka, 0: what is left is redelivered to another worker.
  void Stop(int64_t drain_ms = 0);
  int64_t Undecodable() const { return undecodable_.load(); }

 private:
  void OnAssigned(const std::vector<int32_t>&) override {}
  void OnRevoked(const std::vector<int32_t>&) override {}
  void Run();
  bool SubmitWaiting(push::v1::PushTask task);
  // With mu_ held: whether to stop now (`drained`: the last poll was empty).
  bool StopNow(bool drained) const;

  EventBus& bus_;
  PushWorker& worker_;
  std::string topic_;
  std::string group_;
  std::unique_ptr<BusConsumer> consumer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_until_;  // a shutdown bound, not logic
  std::atomic<int64_t> undecodable_{0};
  std::thread thread_;
};

}  // namespace flare
