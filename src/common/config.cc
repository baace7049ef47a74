#include "common/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>

#include "common/endpoints.h"
#include "common/hook_config_toml.h"
#include "common/push_config_toml.h"
#include "common/redis_url.h"

extern char** environ;

namespace flare {
namespace {

struct KeyDef {
  const char* key;
  const char* description;
  // Exactly one of these is set.
  int64_t Config::*int_field = nullptr;
  std::string Config::*string_field = nullptr;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices = {};          // empty: any string
  Status (*check)(const std::string&) = nullptr;  // extra validation of a string
  ServiceEndpoints Config::*services_field = nullptr;
};

Status CheckRedisUrl(const std::string& url) { return ParseRedisUrl(url).status(); }

// The admin API can point hooks anywhere (and so read every message): no
// guessable token.
Status CheckAdminToken(const std::string& token) {
  if (token.empty() || token.size() >= 16) return Status::Ok();
  return InvalidArgument("must be empty or at least 16 bytes");
}

const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> keys = {
      {"server.data_dir", "directory for the SQLite store and the generated secret", nullptr,
       &Config::data_dir},
      {"server.bind_address", "address the HTTP and WebSocket listeners bind", nullptr,
       &Config::bind_address},
      {"server.http_port", "HTTP port (/healthz, /readyz, /metrics); 0 picks a free port",
       &Config::http_port, nullptr, 0, 65535},
      {"server.ws_port", "WebSocket port (/ws); 0 picks a free port", &Config::ws_port, nullptr, 0,
       65535},
      {"server.metrics_token",
       "bearer token /metrics requires; empty = /metrics answers loopback clients only", nullptr,
       &Config::metrics_token},
      {"server.roles",
       "the roles this process runs: \"all\" (embedded, every service in one process) or a "
       "comma-separated list of the seed's module names (storage-reader, session, ...); "
       "`flare serve --role` overrides it",
       nullptr, &Config::roles},
      {"server.io_threads", "network I/O threads; 0 = one per core but one (at least one)",
       &Config::io_threads, nullptr, 0, 256},
      {"auth.jwt_secret", "HS256 secret; empty = generated once into <data_dir>/jwt.secret",
       nullptr, &Config::jwt_secret},
      {"auth.auth_timeout_ms", "close a connection that has not authenticated within this time",
       &Config::auth_timeout_ms, nullptr, 1, 3'600'000},
      {"auth.token_ttl_s", "default lifetime of tokens printed by `flare token`",
       &Config::token_ttl_s, nullptr, 1, 31'536'000},
      {"gateway.idle_timeout_ms", "close a connection that sent nothing for this long",
       &Config::idle_timeout_ms, nullptr, 100, 86'400'000},
      {"gateway.max_frame_bytes", "largest WebSocket frame accepted", &Config::max_frame_bytes,
       nullptr, 1024, 64 * 1024 * 1024},
      {"gateway.max_message_bytes", "largest message content + attachments accepted",
       &Config::max_message_bytes, nullptr, 64, 64 * 1024 * 1024},
      {"gateway.resend_timeout_ms", "resend a push that has not been acked within this time",
       &Config::resend_timeout_ms, nullptr, 10, 3'600'000},
      {"gateway.max_unacked_pushes", "unacked pushes per connection before it is closed as slow",
       &Config::max_unacked_pushes, nullptr, 1, 10'000'000},
      {"gateway.max_send_queue_bytes", "bytes queued per connection before it is closed as slow",
       &Config::max_send_queue_bytes, nullptr, 4096, int64_t{1} << 34},
      {"gateway.timer_interval_ms", "how often timeouts and resends are checked",
       &Config::timer_interval_ms, nullptr, 5, 60'000},
      {"gateway.echo_mode",
       "\"on\" makes /ws echo every frame (transport benchmark only)",
       nullptr,
       &Config::echo_mode,
       0,
       0,
       {"off", "on"}},
      {"gateway.typing_interval_ms", "at most one typing notice per conversation this often",
       &Config::typing_interval_ms, nullptr, 0, 3'600'000},
      {"gateway.max_resends",
       "resends of an unacked push (backing off) before the connection is closed as slow",
       &Config::max_resends, nullptr, 0, 1'000},
      {"gateway.max_resend_interval_ms", "longest wait between two resends of a push",
       &Config::max_resend_interval_ms, nullptr, 10, 86'400'000},
      {"gateway.max_connections_per_user", "connections one user may have; more are refused",
       &Config::max_connections_per_user, nullptr, 1, 1'000'000},
      {"gateway.max_unauthenticated_per_address",
       "connections from one address not yet authenticated; more are closed at once",
       &Config::max_unauthenticated_per_address, nullptr, 1, 10'000'000},
      {"gateway.login_lanes",
       "threads that register logins in the route table, one user's logins in order on one",
       &Config::login_lanes, nullptr, 1, 256},
      {"limits.send_per_second", "sends per user per second on average; 0 = no limit",
       &Config::send_per_second, nullptr, 0, 10'000'000},
      {"limits.send_burst", "sends per user at once above the average rate", &Config::send_burst,
       nullptr, 1, 100'000'000},
      {"limits.message_ops_per_second",
       "message operations (recall, edit, delete, reaction) per user per second; 0 = no limit",
       &Config::message_ops_per_second, nullptr, 0, 10'000'000},
      {"limits.message_ops_burst", "message operations per user at once",
       &Config::message_ops_burst, nullptr, 1, 100'000'000},
      {"limits.group_ops_per_second", "group operations per user per second; 0 = no limit",
       &Config::group_ops_per_second, nullptr, 0, 10'000'000},
      {"limits.group_ops_burst", "group operations per user at once", &Config::group_ops_burst,
       nullptr, 1, 100'000'000},
      {"groups.max_members", "most members a group or channel may have", &Config::group_max_members,
       nullptr, 2, 10'000'000},
      {"groups.large_group_threshold",
       "above this many members, online members get an 'advanced' notice and pull",
       &Config::large_group_threshold, nullptr, 1, 10'000'000},
      {"groups.recall_window_s", "how long a sender may recall a message", &Config::recall_window_s,
       nullptr, 0, 31'536'000},
      {"push.offline_enabled",
       "push tasks (flare.im.push.tasks) for the registered push devices of offline recipients",
       nullptr,
       &Config::push_offline_enabled,
       0,
       0,
       {"true", "false"}},
      {"push.offline_queue",
       "committed batches (and read moves, logins) waiting for the offline hand-off; more are "
       "dropped and counted in flare_push_offline_dropped_total",
       &Config::push_offline_queue, nullptr, 1, 1'000'000},
      {"messages.max_edit_history", "previous versions kept per message; older ones are dropped",
       &Config::max_edit_history, nullptr, 0, 10'000},
      {"messages.max_reactions", "distinct reactions one message may carry", &Config::max_reactions,
       nullptr, 1, 100'000},
      {"messages.max_stored_bytes", "largest stored message with its edit history and reactions",
       &Config::max_stored_bytes, nullptr, 1024, int64_t{1} << 30},
      {"storage.backend",
       "message and conversation store: sqlite | memory | postgres",
       nullptr,
       &Config::storage_backend,
       0,
       0,
       {"sqlite", "memory", "postgres"}},
      {"storage.postgres.dsn",
       "libpq connection string of the PostgreSQL store (storage.backend = \"postgres\")", nullptr,
       &Config::postgres_dsn},
      {"storage.postgres.retention_days",
       "days of messages the PostgreSQL store keeps (whole week partitions are dropped); 0 = "
       "forever",
       &Config::postgres_retention_days, nullptr, 0, 36'500},
      {"storage.durability",
       "full: each batch fsync'd before acks (survives power loss); normal: survives a process "
       "crash, the last batches may be lost on power loss",
       nullptr,
       &Config::durability,
       0,
       0,
       {"full", "normal"}},
      {"storage.max_batch", "most messages committed in one transaction", &Config::max_batch,
       nullptr, 1, 1'000'000},
      {"storage.max_pending_writes", "writes queued before senders get UNAVAILABLE",
       &Config::max_pending_writes, nullptr, 1, 100'000'000},
      {"storage.max_pending_bytes", "bytes of queued writes before senders get UNAVAILABLE",
       &Config::max_pending_bytes, nullptr, 1 << 20, int64_t{1} << 40},
      {"storage.writer_cached_conversations",
       "conversations whose max seq the storage writer keeps in memory",
       &Config::writer_cached_conversations, nullptr, 16, 1'000'000'000},
      {"storage.writer_cached_groups",
       "groups whose state (with members) the storage writer keeps in memory",
       &Config::writer_cached_groups, nullptr, 16, 100'000'000},
      {"storage.reader_threads", "threads serving sync and bootstrap reads",
       &Config::reader_threads, nullptr, 1, 64},
      {"storage.checkpoint_wal_bytes", "WAL size at which it is checkpointed and truncated",
       &Config::checkpoint_wal_bytes, nullptr, 1 << 20, int64_t{1} << 40},
      {"storage.reader_queue", "reads waiting for a read thread before UNAVAILABLE",
       &Config::reader_queue, nullptr, 1, 100'000'000},
      {"sync.default_limit", "messages per sync page when the client gives no limit",
       &Config::sync_default_limit, nullptr, 1, 100'000},
      {"sync.max_limit", "largest sync page", &Config::sync_max_limit, nullptr, 1, 100'000},
      {"sync.max_page_bytes", "a sync or bootstrap page ends before it passes this many bytes",
       &Config::sync_max_page_bytes, nullptr, 1024, int64_t{1} << 30},
      {"sync.bootstrap_page_conversations", "most conversations in one bootstrap page",
       &Config::bootstrap_page_conversations, nullptr, 1, 100'000},
      {"presence.backend",
       "presence and route table: memory (embedded) | redis (shared by processes, "
       "presence.redis.url)",
       nullptr,
       &Config::presence_backend,
       0,
       0,
       {"memory", "redis"}},
      {"presence.route_table",
       "how a role process reaches the route table: direct (presence.backend) | signaling "
       "(through the signaling-online and signaling-route roles, found in discovery)",
       nullptr,
       &Config::presence_route_table,
       0,
       0,
       {"direct", "signaling"}},
      {"presence.redis.url",
       "Redis server of the redis presence backend: redis://[[user]:password@]host[:port][/db]",
       nullptr,
       &Config::presence_redis_url,
       0,
       0,
       {},
       &CheckRedisUrl},
      {"presence.redis.connections",
       "Redis connections of a route table served to other processes (signaling roles), "
       "one user's calls on one",
       &Config::presence_redis_connections, nullptr, 1, 256},
      {"presence.gateway_ttl_ms",
       "a gateway's routes count as online until this long after its last heartbeat "
       "(sent every third of it)",
       &Config::gateway_ttl_ms, nullptr, 300, 3'600'000},
      {"presence.login_conflict",
       "coexist | platform_exclusive | exclusive, or per platform: "
       "\"ios=platform_exclusive,web=coexist,*=coexist\"",
       nullptr, &Config::login_conflict},
      {"presence.max_subscriptions", "presence subscriptions one connection may hold",
       &Config::max_subscriptions, nullptr, 0, 1'000'000},
      {"presence.visibility",
       "whose presence a user may see: shared_conversation (users sharing a conversation "
       "with them) | tenant (anyone in the tenant)",
       nullptr,
       &Config::presence_visibility,
       0,
       0,
       {"shared_conversation", "tenant"}},
      {"bus.backend",
       "event bus between orchestrator and storage writer: inprocess (one process) | kafka "
       "(bus.kafka.brokers)",
       nullptr,
       &Config::bus_backend,
       0,
       0,
       {"inprocess", "kafka"}},
      {"bus.kafka.brokers",
       "Kafka bootstrap brokers of the kafka bus: host:port[,host:port...]",
       nullptr,
       &Config::bus_kafka_brokers,
       0,
       0,
       {},
       &CheckHostPortList},
      {"bus.kafka.startup_timeout_ms",
       "start-up fails naming bus.kafka.brokers if no broker answers within this time",
       &Config::bus_kafka_startup_timeout_ms, nullptr, 100, 600'000},
      {"bus.kafka.session_timeout_ms",
       "a consumer silent this long leaves its group and its partitions move",
       &Config::bus_kafka_session_timeout_ms, nullptr, 100, 3'600'000},
      {"bus.kafka.fetch_wait_max_ms",
       "longest a broker holds a consumer's fetch that found nothing (fetch.wait.max.ms)",
       &Config::bus_kafka_fetch_wait_max_ms, nullptr, 1, 10'000},
      {"bus.kafka.linger_ms",
       "how long a producer gathers records into one request (linger.ms): longer costs "
       "latency, saves CPU per record",
       &Config::bus_kafka_linger_ms, nullptr, 0, 1'000},
      {"bus.kafka.heartbeat_interval_ms",
       "consumer group heartbeat period (below the session timeout)",
       &Config::bus_kafka_heartbeat_interval_ms, nullptr, 10, 3'600'000},
      {"bus.kafka.assignment_strategy",
       "partition.assignment.strategy of consumers (eager protocols): range | roundrobin",
       nullptr,
       &Config::bus_kafka_assignment_strategy,
       0,
       0,
       {"range", "roundrobin"}},
      {"bus.kafka.message_timeout_ms",
       "a published record not acknowledged within this time fails (its done gets UNAVAILABLE)",
       &Config::bus_kafka_message_timeout_ms, nullptr, 1'000, 2'147'483'647},
      {"bus.kafka.replication_factor", "replicas of each topic the bus creates",
       &Config::bus_kafka_replication_factor, nullptr, 1, 32},
      {"bus.ingest_topic", "topic of the ingest stream (orchestrator -> storage writers)", nullptr,
       &Config::bus_ingest_topic},
      {"bus.ingest_partitions",
       "partitions of the ingest topic when it is created at start (the most storage writers "
       "that share the work)",
       &Config::bus_ingest_partitions, nullptr, 1, 10'000},
      {"bus.writer_group", "consumer group of the storage writers", nullptr,
       &Config::bus_writer_group},
      {"discovery.backend",
       "service discovery of cluster roles: static (discovery.static.services) | consul "
       "(a Consul agent, discovery.consul.url)",
       nullptr,
       &Config::discovery_backend,
       0,
       0,
       {"static", "consul"}},
      {"discovery.advertise_address",
       "the host name or address other processes reach this role process at (registered in "
       "discovery); empty: server.bind_address, or 127.0.0.1 when that is 0.0.0.0",
       nullptr, &Config::discovery_advertise_address},
      {"discovery.static.services",
       "static discovery: a table, service name -> [\"host:port\", ...] of its instances "
       "(environment: \"name=host:port,host:port;name2=host:port\")",
       nullptr,
       nullptr,
       0,
       0,
       {},
       nullptr,
       &Config::discovery_static_services},
      {"discovery.consul.url",
       "HTTP API of the local Consul agent, http(s)://host:port (environment: "
       "CONSUL_ENDPOINTS too)",
       nullptr,
       &Config::discovery_consul_url,
       0,
       0,
       {},
       &CheckHttpBaseUrl},
      {"discovery.consul.token", "Consul ACL token sent as X-Consul-Token; empty = none", nullptr,
       &Config::discovery_consul_token},
      {"discovery.consul.request_timeout_ms",
       "each request to the Consul agent fails (UNAVAILABLE) after this long",
       &Config::discovery_consul_request_timeout_ms, nullptr, 10, 600'000},
      {"discovery.consul.check_interval_ms",
       "how often the Consul agent calls a registered instance's health URL",
       &Config::discovery_consul_check_interval_ms, nullptr, 10, 86'400'000},
      {"discovery.consul.check_timeout_ms", "a health check not answered this fast fails",
       &Config::discovery_consul_check_timeout_ms, nullptr, 10, 600'000},
      {"discovery.consul.deregister_after_s",
       "Consul removes an instance whose check has failed for this long "
       "(DeregisterCriticalServiceAfter; Consul's minimum is 60)",
       &Config::discovery_consul_deregister_after_s, nullptr, 1, 31'536'000},
      {"rpc.port",
       "gRPC port of a role process (server.roles other than \"all\"), on "
       "server.bind_address; -1 = the seed's port of its first role (storage-reader 50054, "
       "session 50055); 0 picks a free port",
       &Config::rpc_port, nullptr, -1, 65535},
      {"rpc.drain_timeout_ms",
       "on SIGTERM a role process stops taking calls and gives those running this long before "
       "it cancels them",
       &Config::rpc_drain_timeout_ms, nullptr, 0, 600'000},
      {"rpc.deadline_ms",
       "deadline of a gRPC call between roles, retries included (per service below when set)",
       &Config::rpc_deadline_ms, nullptr, 1, 3'600'000},
      {"rpc.storage_reader.deadline_ms",
       "deadline of calls to the storage-reader role; 0 = rpc.deadline_ms",
       &Config::rpc_storage_reader_deadline_ms, nullptr, 0, 3'600'000},
      {"rpc.session.deadline_ms", "deadline of calls to the session role; 0 = rpc.deadline_ms",
       &Config::rpc_session_deadline_ms, nullptr, 0, 3'600'000},
      {"rpc.signaling.deadline_ms",
       "deadline of calls to the signaling-online and signaling-route roles; 0 = rpc.deadline_ms",
       &Config::rpc_signaling_deadline_ms, nullptr, 0, 3'600'000},
      {"rpc.retry.max_attempts",
       "attempts of an idempotent call that fails with UNAVAILABLE (or an attempt's timeout); "
       "1 = no retry. Other calls are never retried",
       &Config::rpc_retry_max_attempts, nullptr, 1, 100},
      {"rpc.retry.initial_backoff_ms",
       "wait before the first retry; doubled per retry up to rpc.retry.max_backoff_ms, with "
       "jitter",
       &Config::rpc_retry_initial_backoff_ms, nullptr, 1, 600'000},
      {"rpc.retry.max_backoff_ms", "longest wait between two attempts",
       &Config::rpc_retry_max_backoff_ms, nullptr, 1, 600'000},
      {"rpc.retry.attempt_timeout_ms",
       "deadline of one attempt (a stuck server is then retried within the call's deadline); "
       "0 = an attempt may use the whole call's deadline",
       &Config::rpc_retry_attempt_timeout_ms, nullptr, 0, 3'600'000},
      {"bus.gateway_topic",
       "topic of the gateway inbox: outcomes and pushes for another process's gateway, keyed by "
       "its id",
       nullptr, &Config::bus_gateway_topic},
      {"bus.gateway_delivery",
       "how role processes hand outcomes and pushes to another process's gateway: bus (the "
       "gateway inbox topic) | grpc (a stream to that gateway, found in the gateway directory "
       "on presence.backend)",
       nullptr,
       &Config::bus_gateway_delivery,
       0,
       0,
       {"bus", "grpc"}},
      {"push.worker.max_attempts",
       "attempts of a push task whose provider answers a retriable error; then it is "
       "dead-lettered",
       &Config::push_worker_max_attempts, nullptr, 1, 100},
      {"push.worker.initial_backoff_ms",
       "wait before the first retry of a push task; doubled per retry up to "
       "push.worker.max_backoff_ms, with jitter (a provider's Retry-After waits longer)",
       &Config::push_worker_initial_backoff_ms, nullptr, 1, 3'600'000},
      {"push.worker.max_backoff_ms", "longest wait between two attempts of a push task",
       &Config::push_worker_max_backoff_ms, nullptr, 1, 86'400'000},
      {"push.worker.max_in_flight", "push sends waiting for a provider at once",
       &Config::push_worker_max_in_flight, nullptr, 1, 100'000},
      {"push.worker.send_timeout_ms", "a send a provider has not answered within this time fails "
       "(retriable)",
       &Config::push_worker_send_timeout_ms, nullptr, 100, 600'000},
      {"push.worker.max_queued", "push tasks queued (due or waiting to retry); more are refused",
       &Config::push_worker_max_queued, nullptr, 1, 100'000'000},
      {"push.worker.dead_letters_kept", "recent push dead letters kept for the admin read",
       &Config::push_worker_dead_letters_kept, nullptr, 0, 1'000'000},
      {"push.worker.tasks_topic", "topic push-worker consumes push tasks from", nullptr,
       &Config::push_worker_tasks_topic},
      {"push.worker.dlq_topic", "topic push-worker publishes push dead letters to", nullptr,
       &Config::push_worker_dlq_topic},
      {"push.worker.group", "consumer group of the push workers", nullptr,
       &Config::push_worker_group},
      {"push.proxy.schedule_interval_ms", "how often push-proxy sends the scheduled pushes due",
       &Config::push_proxy_schedule_interval_ms, nullptr, 10, 3'600'000},
      {"log.level",
       "trace | debug | info | warn | error",
       nullptr,
       &Config::log_level,
       0,
       0,
       {"trace", "debug", "info", "warn", "error"}},
      {"log.format", "text | json", nullptr, &Config::log_format, 0, 0, {"text", "json"}},
      {"hook_admin.address", "address the hook admin API (hooks.v1.HookAdminService) binds",
       nullptr, &Config::hook_admin_address},
      {"hook_admin.port", "gRPC port of the hook admin API (embedded mode); 0 picks a free port",
       &Config::hook_admin_port, nullptr, 0, 65535},
      {"hook_admin.token",
       "bearer token every hook admin call must carry; empty = the admin API is not served "
       "(at least 16 bytes when set)",
       nullptr,
       &Config::hook_admin_token,
       0,
       0,
       {},
       &CheckAdminToken},
  };
  return keys;
}

// The seed's environment variables and the keys they set (a FLARE_*
// variable for the same key is applied after them and wins).
const std::map<std::string, std::string> kSeedEnvironment = {
    {"CONSUL_ENDPOINTS", "discovery.consul.url"},
    {"KAFKA_BOOTSTRAP_SERVERS", "bus.kafka.brokers"},
};

const KeyDef* FindKey(const std::string& key) {
  for (const auto& def : Keys()) {
    if (key == def.key) return &def;
  }
  return nullptr;
}

Status SetInt(Config& config, const KeyDef& def, int64_t value) {
  if (value < def.min || value > def.max) {
    return InvalidArgument("config key '" + std::string(def.key) + "': " + std::to_string(value) +
                           " is outside [" + std::to_string(def.min) + ", " +
                           std::to_string(def.max) + "]");
  }
  config.*def.int_field = value;
  return Status::Ok();
}

Status SetString(Config& config, const KeyDef& def, const std::string& value) {
  if (!def.choices.empty()) {
    bool found = false;
    std::string allowed;
    for (const auto& c : def.choices) {
      found |= c == value;
      allowed += (allowed.empty() ? "" : ", ") + c;
    }
    if (!found) {
      return InvalidArgument("config key '" + std::string(def.key) + "': '" + value +
                             "' is not one of " + allowed);
    }
  }
  if (def.check != nullptr) {
    Status st = def.check(value);
    if (!st.ok())
      return InvalidArgument("config key '" + std::string(def.key) + "': " + st.message());
  }
  config.*def.string_field = value;
  return Status::Ok();
}

Status SetServices(Config& config, const KeyDef& def, ServiceEndpoints services) {
  Status st = CheckServiceEndpoints(services);
  if (!st.ok())
    return InvalidArgument("config key '" + std::string(def.key) + "': " + st.message());
  config.*def.services_field = std::move(services);
  return Status::Ok();
}

// [key] name = ["host:port", ...] per service.
Status ApplyServicesTable(Config& config, const KeyDef& def, const toml::node& node) {
  const std::string key = def.key;
  const auto* table = node.as_table();
  if (table == nullptr) return InvalidArgument("config key '" + key + "' must be a table");
  ServiceEndpoints services;
  for (const auto& [name, endpoints] : *table) {
    const auto* array = endpoints.as_array();
    auto& list = services[std::string(name.str())];
    for (size_t i = 0; array != nullptr && i < array->size(); ++i) {
      auto endpoint = array->get(i)->value<std::string>();
      if (!array->get(i)->is_string() || !endpoint) break;
      list.push_back(*endpoint);
    }
    if (array == nullptr || list.size() != array->size()) {
      return InvalidArgument("config key '" + key + "." + std::string(name.str()) +
                             "' must be an array of \"host:port\" strings");
    }
  }
  return SetServices(config, def, std::move(services));
}

Status ApplyTomlNode(Config& config, const std::string& key, const toml::node& node) {
  const KeyDef* def = FindKey(key);
  if (def == nullptr) return InvalidArgument("unknown config key '" + key + "'");
  if (def->services_field != nullptr) return ApplyServicesTable(config, *def, node);
  if (def->int_field != nullptr) {
    auto v = node.value<int64_t>();
    if (!node.is_integer() || !v)
      return InvalidArgument("config key '" + key + "' must be an integer");
    return SetInt(config, *def, *v);
  }
  // A flag (a string key of "true"/"false") may be a TOML boolean.
  if (node.is_boolean() && def->choices == std::vector<std::string>{"true", "false"}) {
    return SetString(config, *def, *node.value<bool>() ? "true" : "false");
  }
  auto v = node.value<std::string>();
  if (!node.is_string() || !v) return InvalidArgument("config key '" + key + "' must be a string");
  return SetString(config, *def, *v);
}

Status ApplyTable(Config& config, const toml::table& table, const std::string& prefix) {
  for (const auto& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (key == "hooks") {  // [[hooks]]: an array of tables, not a key
      auto hooks = ParseHookTables(node);
      if (!hooks.ok()) return hooks.status();
      config.hooks = std::move(hooks).value();
      continue;
    }
    if (key == "push.providers" || key == "push.tenants") {  // tables of provider tables
      FLARE_RETURN_IF_ERROR(ParsePushProviderTables(key, node, config.push_providers));
      continue;
    }
    const KeyDef* def = FindKey(key);
    bool table_valued = def != nullptr && def->services_field != nullptr;
    if (const auto* sub = node.as_table(); sub != nullptr && !table_valued) {
      FLARE_RETURN_IF_ERROR(ApplyTable(config, *sub, key));
    } else {
      FLARE_RETURN_IF_ERROR(ApplyTomlNode(config, key, node));
    }
  }
  return Status::Ok();
}

// FLARE_SERVER_HTTP_PORT -> server.http_port: the declared key whose
// upper-cased name with '.' as '_' matches (so FLARE_PRESENCE_REDIS_URL is
// presence.redis.url); otherwise the first '_' after the prefix separates
// section from key.
std::string EnvToKey(const std::string& env_name) {
  std::string rest = env_name.substr(6);
  for (const auto& def : Keys()) {
    std::string spelled;
    for (const char* c = def.key; *c != 0; ++c) {
      spelled += *c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    }
    if (spelled == rest) return def.key;
  }
  std::string key;
  bool dotted = false;
  for (char c : rest) {
    if (c == '_' && !dotted) {
      key += '.';
      dotted = true;
    } else {
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return key;
}

}  // namespace

std::vector<ConfigKeyInfo> ListConfigKeys() {
  std::vector<ConfigKeyInfo> out;
  for (const auto& def : Keys()) {
    const char* type = def.int_field ? "int" : def.services_field ? "services" : "string";
    out.push_back({def.key, type, def.description});
  }
  return out;
}

Status SetConfigValue(Config& config, const std::string& key, const std::string& value) {
  const KeyDef* def = FindKey(key);
  if (def == nullptr) return InvalidArgument("unknown config key '" + key + "'");
  if (def->string_field != nullptr) return SetString(config, *def, value);
  if (def->services_field != nullptr) {
    auto services = ParseServiceEndpoints(value);
    if (!services.ok()) {
      return InvalidArgument("config key '" + key + "': " + services.status().message());
    }
    return SetServices(config, *def, std::move(services).value());
  }
  int64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || ptr != value.data() + value.size()) {
    return InvalidArgument("config key '" + key + "': '" + value + "' is not an integer");
  }
  return SetInt(config, *def, parsed);
}

Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env) {
  Config config;
  if (!path.empty()) {
    toml::table parsed;
    try {  // Debian builds toml++ with exceptions; keep them inside this function
      parsed = toml::parse_file(path);
    } catch (const toml::parse_error& err) {
      return InvalidArgument("config file '" + path + "' line " +
                             std::to_string(err.source().begin.line) + ": " +
                             std::string(err.description()));
    }
    FLARE_RETURN_IF_ERROR(ApplyTable(config, parsed, ""));
  }
  for (const auto& [name, key] : kSeedEnvironment) {
    auto it = env.find(name);
    if (it == env.end()) continue;
    Status st = SetConfigValue(config, key, it->second);
    if (!st.ok()) return Status(st.code(), "environment " + it->first + ": " + st.message());
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("FLARE_", 0) != 0) continue;
    Status st = SetConfigValue(config, EnvToKey(name), value);
    if (!st.ok()) return Status(st.code(), "environment " + name + ": " + st.message());
  }
  if (config.sync_default_limit > config.sync_max_limit) {
    return InvalidArgument("config key 'sync.default_limit' exceeds 'sync.max_limit'");
  }
  if (config.bus_kafka_heartbeat_interval_ms >= config.bus_kafka_session_timeout_ms) {
    return InvalidArgument(
        "config key 'bus.kafka.heartbeat_interval_ms' must be below "
        "'bus.kafka.session_timeout_ms'");
  }
  if (config.push_worker_initial_backoff_ms > config.push_worker_max_backoff_ms) {
    return InvalidArgument(
        "config key 'push.worker.initial_backoff_ms' exceeds 'push.worker.max_backoff_ms'");
  }
  if (config.rpc_retry_initial_backoff_ms > config.rpc_retry_max_backoff_ms) {
    return InvalidArgument(
        "config key 'rpc.retry.initial_backoff_ms' exceeds 'rpc.retry.max_backoff_ms'");
  }
  return config;
}

std::map<std::string, std::string> FlareEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (name.rfind("FLARE_", 0) != 0 && kSeedEnvironment.count(name) == 0) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

}  // namespace flare
