// The push modules as processes. push-proxy: PushApi over the device and
// schedule stores, tasks to the bus, statistics from every push-worker in
// discovery, served as push.v1.PushService, with the loop that sends
// scheduled pushes. push-worker: the providers and PushWorker fed from the
// tasks topic (wired as in embedded mode, app/push_wiring.h), served as
// push.v1.PushWorkerService. push-server: its offline hand-off runs behind
// the storage-writer role of the same process (storage_writer_role.cc);
// the role serves push.v1.PushSchedulerService, through which gateways
// report logins to that hand-off.
#include "app/push_wiring.h"
#include "app/roles/role.h"
#include "app/wiring.h"
#include "common/clock.h"
#include "rpc/push/push_scheduler_grpc.h"
#include "rpc/push/push_worker_grpc.h"

namespace flare {
namespace {

class PushProxyRole final : public Role {
 public:
  PushProxyRole(std::shared_ptr<DeviceStore> devices, std::unique_ptr<BusProducer> producer,
                std::unique_ptr<PushApiStack> stack)
      : devices_(std::move(devices)), producer_(std::move(producer)), stack_(std::move(stack)) {}

  ~PushProxyRole() override { Stop(); }

  grpc::Service* service() override { return stack_->service(); }
  std::string grpc_service_name() const override { return "push.v1.PushService"; }
  void Stop() override { stack_->Stop(); }

 private:
  std::shared_ptr<DeviceStore> devices_;
  std::unique_ptr<BusProducer> producer_;
  std::unique_ptr<PushApiStack> stack_;  // uses devices_ and producer_
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

class PushServerRole final : public Role {
 public:
  explicit PushServerRole(RoleShared& shared)
      : service_(NewPushSchedulerGrpcService([&shared] { return shared.device_activity_sink(); })) {
  }
  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "push.v1.PushSchedulerService"; }

 private:
  RpcServicePtr service_;
};

}  // namespace

std::unique_ptr<Role> MakePushServerRole(RoleDeps& deps) {
  return std::make_unique<PushServerRole>(deps.shared);
}

Result<std::unique_ptr<Role>> MakePushProxyRole(RoleDeps& deps) {
  auto devices = OpenDeviceStore(deps.config);
  if (!devices.ok()) return devices.status();
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  auto tasks = OpenPushTaskBus(*bus, deps.config.push_worker_tasks_topic);
  if (!tasks.ok()) return tasks.status();
  auto registry = deps.shared.Discovery();
  if (!registry.ok()) return registry.status();
  // The cluster's network is trusted, as for every role: no token.
  auto stack =
      StartPushApi(deps.config, **devices, *tasks->producer,
                   NewPushWorkerStatsClient(*registry, RpcOptions{}), SystemClock::Instance(), "");
  if (!stack.ok()) return stack.status();
  return std::unique_ptr<Role>(new PushProxyRole(
      std::move(devices).value(), std::move(tasks->producer), std::move(stack).value()));
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
