// What the embedded server and the role processes build the same way from
// config: the writer's and gateway's options, the WebSocket transport's
// options, instance ids, and the Kafka bus with the topics Flare needs.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/result.h"
#include "ports/event_bus.h"
#include "ports/hook_dead_letters.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/gateway/transport.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

StorageWriterOptions WriterOptionsFrom(const Config& config);
GatewayOptions GatewayOptionsFrom(const Config& config, LoginConflictPolicy login_conflict,
                                  const std::string& gateway_id);
// The WebSocket + HTTP listeners of a process that holds client connections.
TransportOptions GatewayTransportOptions(const Config& config);

// "<prefix>-<ULID>": new for every start, so what a killed process left in
// shared state (routes, inbox records) is never taken for the new one's.
std::string NewInstanceId(const std::string& prefix);

// Opens bus.backend and creates (if missing) the ingest topic and the
// gateway inbox topic.
Result<std::shared_ptr<EventBus>> OpenClusterBus(const Config& config);

// The bus push tasks travel on (`topic`, push.worker.tasks_topic, created
// if missing): the cluster's bus when there is one, else a new in-process bus.
struct PushTaskBus {
  std::shared_ptr<EventBus> bus;
  std::unique_ptr<BusProducer> producer;
};
Result<PushTaskBus> OpenPushTaskBus(std::shared_ptr<EventBus> cluster_bus,
                                    const std::string& topic);

// Where post-* hook deliveries that failed every attempt are kept: memory
// with storage.backend = memory, else <data_dir>/hooks.db (SQLite).
Result<std::unique_ptr<HookDeadLetters>> OpenHookDeadLetters(const Config& config);

// Takes nothing: the local side of a GatewayOutbox in a process without a
// gateway (a storage writer or orchestrator), whose own id no route or
// reply carries.
class NoLocalGateway final : public PushDelivery, public CommandReplies {
 public:
  void Deliver(std::span<const SessionPushes>) override {}
  void Notify(const std::vector<uint64_t>&, const std::shared_ptr<const SharedFrame>&) override {}
  void OnCommandDone(const ReplyAddress&, const CommandOutcome&) override {}
};

}  // namespace flare
