// push-proxy (push.v1.PushService): pushes from business servers. Checks
// a request, fills a template's {{variables}}, finds the devices and hands
// one PushTask per device to push-worker; a push for later is kept in the
// PushScheduleStore until FireDue sends it. Knows nothing of gRPC.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/result.h"
#include "ports/device_store.h"
#include "ports/event_bus.h"
#include "ports/push_schedule_store.h"
#include "push/v1/push.pb.h"

namespace flare {

// Where tasks go: the bus topic flare.im.push.tasks (push-worker reads it).
class PushTaskSink {
 public:
  virtual ~PushTaskSink() = default;
  // OK once every task is stored; else the first failure (some tasks may
  // be stored then: a caller that tries again may notify twice).
  virtual Status Publish(std::span<const ::push::v1::PushTask> tasks) = 0;
};

// A PushTaskSink on the event bus: each task one record on `topic`, keyed
// tenant '/' user so that one user's notifications stay in order.
class BusPushTaskSink final : public PushTaskSink {
 public:
  BusPushTaskSink(BusProducer& producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}
  // Queues every task, then waits (at most `timeout_ms`) for all of them.
  Status Publish(std::span<const ::push::v1::PushTask> tasks) override;

 private:
  static constexpr int kTimeoutMs = 10'000;
  BusProducer& producer_;
  std::string topic_;
};

// push-worker's delivery statistics of a tenant.
class PushStatsSource {
 public:
  virtual ~PushStatsSource() = default;
  virtual Result<::push::v1::PushStats> StatsOf(const std::string& tenant) = 0;
};

struct PushApiLimits {
  size_t max_targets = 1'000;  // users + devices per request
  size_t max_title_bytes = 256;
  size_t max_body_bytes = 4'096;
  size_t max_data_entries = 64;
  size_t max_data_bytes = 4'096;  // keys + values
  size_t max_templates = 1'000;   // per tenant
  int64_t max_schedule_ahead_ms = 30LL * 24 * 3600 * 1000;
};

// Fills every {{name}} (spaces inside the braces allowed) of `text` from
// `variables`; InvalidArgument names a placeholder without a value or one
// left open.
Result<std::string> RenderPushTemplate(std::string_view text,
                                       const std::map<std::string, std::string>& variables);

class PushApi {
 public:
  PushApi(DeviceStore& devices, PushScheduleStore& store, PushTaskSink& sink, const Clock& clock,
          PushStatsSource* stats, PushApiLimits limits = {});

  Result<::push::v1::PushResponse> Push(const std::string& tenant,
                                        const ::push::v1::PushRequest& request);
  Status CancelScheduled(const std::string& tenant, const std::string& push_id);
  Result<std::vector<::push::v1::ScheduledPush>> ListScheduled(const std::string& tenant);

  Status PutTemplate(const std::string& tenant, const ::push::v1::PushTemplate& t);
  Status DeleteTemplate(const std::string& tenant, const std::string& name);
  Result<std::vector<::push::v1::PushTemplate>> ListTemplates(const std::string& tenant);

  Status RegisterDevice(const std::string& tenant, const ::push::v1::RegisterDeviceRequest& r);
  Status UnregisterDevice(const std::string& tenant, const ::push::v1::UnregisterDeviceRequest& r);
  Result<::push::v1::PushStats> Stats(const std::string& tenant);

  // Sends up to `limit` scheduled pushes whose time has come (by the
  // Clock); how many were sent. Each push is claimed (removed) before it
  // is sent, so that several push-proxy instances never send one twice;
  // a push that could not be handed on is put back for the next round.
  Result<size_t> FireDue(size_t limit = 100);

 private:
  Status Check(const std::string& tenant, const ::push::v1::PushRequest& r) const;
  // The request with its template's title and body filled in.
  Result<::push::v1::PushRequest> Rendered(const std::string& tenant,
                                           const ::push::v1::PushRequest& r);
  // One task per enabled device of the request's targets, published.
  Result<::push::v1::PushResponse> Send(const std::string& tenant, const ::push::v1::PushRequest& r,
                                        const std::string& push_id);
  Result<std::vector<PushDevice>> Targets(const std::string& tenant,
                                          const ::push::v1::PushRequest& r,
                                          std::vector<std::string>& users_without_devices);
  std::string NewId();

  DeviceStore& devices_;
  PushScheduleStore& store_;
  PushTaskSink& sink_;
  const Clock& clock_;
  PushStatsSource* stats_;
  PushApiLimits limits_;
  std::mutex random_mu_;
  SystemRandom random_;
};

// Calls PushApi::FireDue every `interval_ms` on a thread of its own.
class PushScheduleLoop {
 public:
  PushScheduleLoop(PushApi& api, int64_t interval_ms);
  ~PushScheduleLoop();  // stops and joins

 private:
  void Run();
  PushApi& api_;
  int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace flare
