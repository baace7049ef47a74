// storage-writer as a process, with the push-server's fan-out: consumes
// the ingest stream in the writers' group (each writer owns some
// partitions, fenced against a previous owner), group-commits commands to
// the store, and after each durable commit hands the batch to the
// push-server, which looks up the audience's routes and hands one record
// per gateway to the gateway inbox (bus.gateway_delivery: the inbox topic,
// or one stream message per gateway on its delivery service); outcomes go
// the same way. With push.offline_enabled, push-server's offline hand-off
// publishes push tasks for devices without a live route on the push task
// topic, for the push-worker role.
#include "app/hook_wiring.h"
#include "app/roles/role.h"
#include "app/wiring.h"
#include "common/clock.h"
#include "ports/store_factory.h"
#include "services/hooks/pre_send_ingest.h"
#include "services/push/server/offline_handoff.h"
#include "services/push/server/push_server.h"
#include "services/signaling/inbox/gateway_outbox.h"
#include "services/storage/durable_fence.h"
#include "services/storage/writer/ingest_consumer.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {
namespace {

class StorageWriterRole final : public Role {
 public:
  StorageWriterRole(RoleDeps& deps, std::shared_ptr<RouteTable> routes,
                    std::shared_ptr<EventBus> bus, std::unique_ptr<InboxTransport> outbox,
                    std::shared_ptr<DeviceStore> devices, std::unique_ptr<BusProducer> tasks,
                    std::unique_ptr<HookStack> hooks)
      : shared_(deps.shared),
        id_(NewInstanceId("writer")),
        routes_(std::move(routes)),
        bus_(std::move(bus)),
        writer_(*deps.stores.messages, *deps.stores.conversations, SystemClock::Instance(),
                WriterOptionsFrom(deps.config), &deps.shared.server_metrics()),
        outbox_(GatewayOutboxOptions{deps.config.bus_gateway_topic, id_}, no_gateway_, no_gateway_,
                std::move(outbox)),
        // No gateway here has this id: every route goes to the outbox.
        push_(*routes_, no_gateway_,
              PushOptions{static_cast<size_t>(deps.config.large_group_threshold), id_}, &outbox_),
        devices_(std::move(devices)),
        tasks_(std::move(tasks)),
        hooks_(std::move(hooks)),
        post_send_(hooks_->engine(), push_) {
    if (devices_ && tasks_) {
      handoff_ = std::make_unique<OfflineHandoff>(
          OfflineHandoffDeps{*devices_, *routes_, *deps.stores.conversations, *deps.stores.messages,
                             *tasks_, SystemClock::Instance(), &deps.shared.metrics()},
          OfflineHandoffOptions{.topic = deps.config.push_worker_tasks_topic,
                                .max_queued = static_cast<size_t>(deps.config.push_offline_queue)});
      push_.SetOfflineSink(handoff_.get());
    }
    writer_.SetListener(&post_send_);  // post-send hooks, then push_
    writer_.SetReplies(&outbox_);
    writer_.SetFence(&fence_);
    IngestConsumerOptions o;
    o.topic = deps.config.bus_ingest_topic;
    o.group = deps.config.bus_writer_group;
    o.lag_records = &deps.shared.server_metrics().ingest_lag_records;
    o.partitions_owned = &deps.shared.server_metrics().ingest_partitions_owned;
    consumer_ = std::make_unique<IngestConsumer>(*bus_, *deps.stores.messages, writer_,
                                                 SystemClock::Instance(), o);
  }

  ~StorageWriterRole() override { Stop(); }

  Status Start() override {
    if (handoff_) {
      handoff_->Start();                              // before the writer that feeds it
      shared_.SetDeviceActivitySink(handoff_.get());  // the push-server role's logins
    }
    writer_.Start();
    if (Status st = consumer_->Start(); !st.ok()) {
      writer_.Stop();
      shared_.SetDeviceActivitySink(nullptr);
      if (handoff_) handoff_->Stop();
      return st;
    }
    started_ = true;
    return Status::Ok();
  }

  void Stop() override {
    if (!started_) return;
    started_ = false;
    // Leaving the group commits what is durable; the rest is redelivered
    // to the writer that takes the partitions over.
    consumer_->Stop();
    writer_.Stop();  // commits and answers everything already queued
    outbox_.Close(1'000);
    hooks_->Close();  // post-send deliveries still queued become dead letters
    shared_.SetDeviceActivitySink(nullptr);
    if (handoff_) handoff_->Stop();  // hands what the last batches queued to the bus
    if (tasks_) (void)tasks_->Flush(1'000);
  }

 private:
  RoleShared& shared_;
  const std::string id_;
  std::shared_ptr<RouteTable> routes_;
  std::shared_ptr<EventBus> bus_;
  NoLocalGateway no_gateway_;
  DurableFence fence_;
  StorageWriter writer_;
  GatewayOutbox outbox_;
  PushServer push_;
  std::shared_ptr<DeviceStore> devices_;
  std::unique_ptr<BusProducer> tasks_;
  std::unique_ptr<OfflineHandoff> handoff_;  // fed by push_ (push.offline_enabled)
  std::unique_ptr<HookStack> hooks_;
  PostSendListener post_send_;
  std::unique_ptr<IngestConsumer> consumer_;  // reports to writer_, stopped before it
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<Role>> MakeStorageWriterRole(RoleDeps& deps) {
  auto routes = deps.shared.Routes();
  if (!routes.ok()) return routes.status();
  auto bus = deps.shared.Bus();
  if (!bus.ok()) return bus.status();
  auto outbox = deps.shared.NewInboxTransport();
  if (!outbox.ok()) return outbox.status();
  std::shared_ptr<DeviceStore> devices;
  std::unique_ptr<BusProducer> tasks;
  if (deps.config.push_offline_enabled == "true") {
    auto opened = OpenDeviceStore(deps.config);
    if (!opened.ok()) return opened.status();
    devices = std::move(opened).value();
    auto opened_tasks = OpenPushTaskBus(*bus, deps.config.push_worker_tasks_topic);
    if (!opened_tasks.ok()) return opened_tasks.status();
    tasks = std::move(opened_tasks->producer);
  }
  auto hooks = HookStack::Open(deps.config, &deps.shared.metrics());
  if (!hooks.ok()) return hooks.status();
  return std::unique_ptr<Role>(new StorageWriterRole(deps, *routes, *bus, std::move(outbox).value(),
                                                     std::move(devices), std::move(tasks),
                                                     std::move(hooks).value()));
}

}  // namespace flare
