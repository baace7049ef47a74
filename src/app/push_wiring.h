// push-worker built from config, apart from the embedded server's start-up
// so that the embedded server and a push-worker role process wire it the
// same way: the providers of [push.providers] / [push.tenants], the worker
// (options from [push.worker], dead letters to push.worker.dlq_topic on the
// bus), and the consumer of push.worker.tasks_topic. Creates both topics on
// the bus when missing.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "ports/device_store.h"
#include "ports/event_bus.h"
#include "ports/push_provider.h"
#include "ports/push_schedule_store.h"
#include "rpc/common/rpc_server.h"
#include "services/push/proxy/push_api.h"
#include "services/push/worker/push_task_consumer.h"
#include "services/push/worker/push_worker.h"

namespace flare {

PushWorkerOptions PushWorkerOptionsFrom(const Config& config);

class PushWorkerStack {
 public:
  ~PushWorkerStack() { Stop(); }
  PushWorker& worker() { return *worker_; }
  // Stops taking tasks (on the in-process bus, after handing the worker
  // what is on it), then the worker (what is queued is dead-lettered), then
  // the providers. Idempotent.
  void Stop();

 private:
  friend Result<std::unique_ptr<PushWorkerStack>> StartPushWorker(const Config&, EventBus&,
                                                                  DeviceStore*, const Clock&,
                                                                  Metrics*);
  std::unique_ptr<PushProviderDirectory> providers_;
  std::unique_ptr<BusProducer> dlq_producer_;
  SystemRandom random_;
  std::unique_ptr<PushWorker> worker_;
  std::unique_ptr<PushTaskConsumer> consumer_;
  int64_t drain_ms_ = 0;
};

// `devices` may be null until a device store exists (tokens are then not
// disabled). Everything passed must outlive the stack.
Result<std::unique_ptr<PushWorkerStack>> StartPushWorker(const Config& config, EventBus& bus,
                                                         DeviceStore* devices, const Clock& clock,
                                                         Metrics* metrics);

// push-proxy: PushApi over `devices` and the schedule store of
// storage.backend, publishing on `producer` (the push task bus), with
// `stats` (may be null), the loop that sends scheduled pushes, and
// push.v1.PushService to serve (behind `token` when it is not empty).
// Embedded mode and the push-proxy role build it the same way.
class PushApiStack {
 public:
  ~PushApiStack();
  PushApi& api() { return *api_; }
  grpc::Service* service() { return service_.get(); }
  // Stops the scheduled-push loop. Idempotent.
  void Stop() { loop_.reset(); }

 private:
  friend Result<std::unique_ptr<PushApiStack>> StartPushApi(const Config&, DeviceStore&,
                                                            BusProducer&,
                                                            std::unique_ptr<PushStatsSource>,
                                                            const Clock&, const std::string&);
  std::shared_ptr<PushScheduleStore> schedule_;
  std::unique_ptr<BusPushTaskSink> sink_;
  std::unique_ptr<PushStatsSource> stats_;
  std::unique_ptr<PushApi> api_;
  RpcServicePtr service_;
  std::unique_ptr<PushScheduleLoop> loop_;
};

// Everything passed by reference must outlive the stack.
Result<std::unique_ptr<PushApiStack>> StartPushApi(const Config& config, DeviceStore& devices,
                                                   BusProducer& producer,
                                                   std::unique_ptr<PushStatsSource> stats,
                                                   const Clock& clock, const std::string& token);

// push-worker's own figures as push-proxy's statistics (one process).
std::unique_ptr<PushStatsSource> NewLocalPushStats(PushWorker& worker);

}  // namespace flare
