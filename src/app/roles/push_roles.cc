// The push modules as processes. push-proxy: PushApi over the device and
// schedule stores, tasks to the bus, statistics from every push-worker in
// discovery, served as push.v1.PushService, with the loop that sends
// scheduled pushes. push-worker: the providers and PushWorker fed from the
// tasks topic (wired as in embedded mode, app/push_wiring.h), served as
// push.v1.PushWorkerService. push-server's offline hand-off runs with the
// storage-writer role (storage_writer_role.cc).
#include "app/push_wiring.h"
#include "app/roles/role.h"
#include "common/clock.h"
#include "rpc/push/push_grpc.h"
#include "rpc/push/push_worker_grpc.h"

namespace flare {
namespace {

class PushProxyRole final : public Role {
 public:
  PushProxyRole(const Config& config, std::shared_ptr<DeviceStore> devices,
                std::shared_ptr<PushScheduleStore> schedule, std::unique_ptr<BusProducer> producer,
                std::unique_ptr<PushStatsSource> stats)
      : interval_ms_(config.push_proxy_schedule_interval_ms),
        devices_(std::move(devices)),
        schedule_(std::move(schedule)),
        producer_(std::move(producer)),
        sink_(*producer_, config.push_worker_tasks_topic),
        stats_(std::move(stats)),
        api_(*devices_, *schedule_, sink_, SystemClock::Instance(), stats_.get()),
        service_(NewPushGrpcService(api_)) {}

  ~PushProxyRole() override { Stop(); }

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "push.v1.PushService"; }

  Status Start() override {
    loop_ = std::make_unique<PushScheduleLoop>(api_, interval_ms_);
    return Status::Ok();
  }
  void Stop() override { loop_.reset(); }

 private:
  const int64_t interval_ms_;
  std::shared_ptr<DeviceStore> devices_;
  std::shared_ptr<PushScheduleStore> schedule_;
  std::unique_ptr<BusProducer> producer_;
  BusPushTaskSink sink_;
  std::unique_ptr<PushStatsSource> stats_;
  PushApi api_;
  RpcServicePtr service_;
  std::unique_ptr<PushScheduleLoop> loop_;
};

class PushWorkerRole final : public Role {
 public:
  PushWorkerRole(std::shared_ptr<EventBus> bus, std::shared_ptr<DeviceStore> devices,
                 std::unique_ptr<PushWorkerStack> stack)
      : bus_(std::move(bus)),
        devices_(std::move(devices)),
        stack_(std::move(stack)),
        service_(NewPushWorkerGrpcService(stack_->worker())) {}

  ~PushWorkerRole() override { Stop(); }

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "push.v1.PushWorkerService"; }
  // Stops taking tasks; what is queued is dead-lettered (app/push_wiring.h).
  void Stop() override { stack_->Stop(); }

 private:
  std::shared_ptr<EventBus> bus_;
  std::shared_ptr<DeviceStore> devices_;
  std::unique_ptr<PushWorkerStack> stack_;  // uses bus_ and devices_
  RpcServicePtr service_;
};

}  // namespace

Result<std::unique_ptr<Role>> MakePushProxyRole(RoleDeps& deps) {
  auto devices = OpenDeviceStore(deps.config);
  if (!devices.ok()) return devices.status();
  auto schedule = OpenPushScheduleStore(deps.config);
  if (!schedule.ok()) return schedule.status();
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  if (Status st = (*bus)->CreateTopic(deps.config.push_worker_tasks_topic, 8);
      !st.ok() && st.code() != Code::kAlreadyExists) {
    return st;
  }
  auto producer = (*bus)->CreateProducer();
  if (!producer.ok()) return producer.status();
  auto registry = deps.shared.Discovery();
  if (!registry.ok()) return registry.status();
  auto stats = NewPushWorkerStatsClient(*registry, RpcOptions{});
  return std::unique_ptr<Role>(new PushProxyRole(deps.config, std::move(devices).value(),
                                                 std::move(schedule).value(),
                                                 std::move(producer).value(), std::move(stats)));
}

Result<std::unique_ptr<Role>> MakePushWorkerRole(RoleDeps& deps) {
  auto devices = OpenDeviceStore(deps.config);
  if (!devices.ok()) return devices.status();
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  auto stack = StartPushWorker(deps.config, **bus, devices->get(), SystemClock::Instance(),
                               &deps.shared.metrics());
  if (!stack.ok()) return stack.status();
  return std::unique_ptr<Role>(
      new PushWorkerRole(*bus, std::move(devices).value(), std::move(stack).value()));
}

}  // namespace flare
