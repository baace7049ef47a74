#include "app/wiring.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/memory/memory_hook_dead_letters.h"
#include "adapters/sqlite/sqlite_hook_dead_letters.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/signaling/gateway/frame_codec.h"

namespace flare {

Result<std::unique_ptr<HookDeadLetters>> OpenHookDeadLetters(const Config& config) {
  if (config.storage_backend == "memory") {
    return std::unique_ptr<HookDeadLetters>(std::make_unique<MemoryHookDeadLetters>());
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  auto opened = SqliteHookDeadLetters::Open(config.data_dir + "/hooks.db");
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<HookDeadLetters>(std::move(opened).value());
}
namespace {

// Partitions of bus.gateway_topic when it is created: every gateway reads
// all of them, so more would not spread the reading.
constexpr int32_t kGatewayTopicPartitions = 4;
// Partitions of the push task topic when it is created: push-workers share
// them in one consumer group.
constexpr int32_t kPushTaskPartitions = 8;

}  // namespace

StorageWriterOptions WriterOptionsFrom(const Config& c) {
  StorageWriterOptions o;
  o.max_batch = static_cast<size_t>(c.max_batch);
  o.max_pending = static_cast<size_t>(c.max_pending_writes);
  o.max_pending_bytes = static_cast<size_t>(c.max_pending_bytes);
  o.cached_conversations = static_cast<size_t>(c.writer_cached_conversations);
  o.cached_groups = static_cast<size_t>(c.writer_cached_groups);
  o.group_limits.max_members = static_cast<size_t>(c.group_max_members);
  o.op_rules.recall_window_ms = c.recall_window_s * 1000;
  o.op_rules.max_edit_history = static_cast<int>(c.max_edit_history);
  o.op_rules.max_reactions = static_cast<int>(c.max_reactions);
  o.op_rules.max_stored_bytes = static_cast<size_t>(c.max_stored_bytes);
  return o;
}

GatewayOptions GatewayOptionsFrom(const Config& c, LoginConflictPolicy login_conflict,
                                  const std::string& gateway_id) {
  GatewayOptions o;
  o.gateway_id = gateway_id;
  o.typing_interval_ms = c.typing_interval_ms;
  o.login_conflict = std::move(login_conflict);
  o.presence_visibility = c.presence_visibility == "tenant"
                              ? PresenceVisibility::kTenant
                              : PresenceVisibility::kSharedConversation;
  o.auth_timeout_ms = c.auth_timeout_ms;
  o.idle_timeout_ms = c.idle_timeout_ms;
  o.resend_timeout_ms = c.resend_timeout_ms;
  o.report_unacked_at_resend = c.push_offline_unacked_resends;
  o.timer_interval_ms = c.timer_interval_ms;
  o.session_limits.max_unacked_pushes = static_cast<size_t>(c.max_unacked_pushes);
  o.session_limits.max_send_queue_bytes = static_cast<size_t>(c.max_send_queue_bytes);
  o.session_limits.max_resends = c.max_resends;
  o.session_limits.max_resend_interval_ms = c.max_resend_interval_ms;
  o.session_limits.max_subscriptions = static_cast<size_t>(c.max_subscriptions);
  o.max_connections_per_user = static_cast<size_t>(c.max_connections_per_user);
  o.max_unauthenticated_per_address = static_cast<size_t>(c.max_unauthenticated_per_address);
  o.login_lanes = static_cast<int>(c.login_lanes);
  o.send_limit = {c.send_per_second, c.send_burst};
  o.message_op_limit = {c.message_ops_per_second, c.message_ops_burst};
  o.group_op_limit = {c.group_ops_per_second, c.group_ops_burst};
  return o;
}

TransportOptions GatewayTransportOptions(const Config& config) {
  TransportOptions o;
  o.bind_address = config.bind_address;
  o.ws_port = static_cast<uint16_t>(config.ws_port);
  o.http_port = static_cast<uint16_t>(config.http_port);
  // By default one core is left to the storage writer and syncer: on a
  // 2-core machine one I/O thread moved more messages than two.
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  o.io_threads =
      config.io_threads > 0 ? static_cast<int>(config.io_threads) : std::max(1, cores - 1);
  o.max_frame_bytes = static_cast<size_t>(config.max_frame_bytes);
  // Not yet upgraded counts as not yet authenticated: the same limit, at
  // the transport (the gateway counts those upgraded and not authenticated).
  o.max_upgrading_per_address = static_cast<size_t>(config.max_unauthenticated_per_address);
  // The largest request any route takes (a media upload); JSON routes check
  // http_api.max_body_bytes themselves.
  o.max_http_body_bytes = static_cast<size_t>(
      std::max(config.http_api_max_body_bytes, config.media_max_single_upload_bytes));
  // Reading a large upload may take longer than answering a call.
  o.http_timeout_ms = std::max<int64_t>(config.http_api_request_timeout_ms, 120'000);
  o.echo = config.echo_mode == "on";
  if (!o.echo) {  // echo mode returns raw frames
    o.batching.before = AppendBatchPrefix;
    o.batching.after = AppendBatchSuffix;
  }
  return o;
}

std::string NewInstanceId(const std::string& prefix) {
  SystemRandom random;
  return prefix + "-" + MakeUlid(SystemClock::Instance().NowMs(), random);
}

Result<std::shared_ptr<EventBus>> OpenClusterBus(const Config& config) {
  auto opened = OpenEventBus(config);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<EventBus> bus = std::move(opened).value();
  Status st = CreateTopicIfMissing(*bus, config.bus_ingest_topic,
                                   static_cast<int32_t>(config.bus_ingest_partitions));
  if (st.ok()) st = CreateTopicIfMissing(*bus, config.bus_gateway_topic, kGatewayTopicPartitions);
  if (!st.ok()) return st;
  return bus;
}

Result<PushTaskBus> OpenPushTaskBus(std::shared_ptr<EventBus> cluster_bus,
                                    const std::string& topic) {
  PushTaskBus out;
  out.bus = cluster_bus ? std::move(cluster_bus) : std::make_shared<InProcessEventBus>();
  FLARE_RETURN_IF_ERROR(CreateTopicIfMissing(*out.bus, topic, kPushTaskPartitions));
  auto producer = out.bus->CreateProducer();
  if (!producer.ok()) return producer.status();
  out.producer = std::move(producer).value();
  return out;
}

}  // namespace flare
