// Flare's configuration: TOML file, then FLARE_* environment overrides,
// then command-line flags. Every key is declared once in config.cc with its
// type, default and bounds; an unknown key or a bad value is an error that
// names the key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/hook_config.h"
#include "common/push_config.h"
#include "common/result.h"

namespace flare {

struct Config {
  // [server]
  std::string data_dir = "./data";
  std::string bind_address = "0.0.0.0";
  int64_t http_port = 8080;
  int64_t ws_port = 8081;
  // QUIC access to the gateway (adapters/quic): UDP port, 0 = off, -1 = a
  // free port; certificate and key files (PEM), empty = a self-signed
  // development certificate generated once into <data_dir>.
  int64_t quic_port = 8443;
  std::string quic_cert_file;
  std::string quic_key_file;
  int64_t io_threads = 0;             // 0 = cores - 1, at least 1
  std::string ws_transport = "lean";  // "lean" (adapters/lean_ws) or "beast"
  std::string metrics_token;          // empty: /metrics answers loopback peers only
  // "all" (embedded) or a comma-separated list of cluster roles (the seed's
  // module names) this process runs; `flare serve --role` overrides it.
  std::string roles = "all";

  // [auth]
  std::string jwt_secret;  // empty: generated once into <data_dir>/jwt.secret
  int64_t auth_timeout_ms = 10'000;
  int64_t token_ttl_s = 86'400;

  // [gateway]
  int64_t idle_timeout_ms = 90'000;
  int64_t max_frame_bytes = 64 * 1024;
  int64_t max_message_bytes = 32 * 1024;
  int64_t resend_timeout_ms = 5'000;
  int64_t max_unacked_pushes = 10'000;
  int64_t max_send_queue_bytes = 8 * 1024 * 1024;
  int64_t timer_interval_ms = 250;
  std::string echo_mode = "off";  // "on": /ws echoes frames (transport benchmark)
  int64_t typing_interval_ms = 1'000;
  int64_t max_resends = 5;
  int64_t max_resend_interval_ms = 60'000;
  int64_t max_connections_per_user = 16;
  int64_t max_unauthenticated_per_address = 64;
  int64_t login_lanes = 16;  // threads running logins (route registration) off the I/O threads

  // [limits] per user, all of its connections together; 0 per second = no limit
  int64_t send_per_second = 200;
  int64_t send_burst = 400;
  int64_t message_ops_per_second = 50;
  int64_t message_ops_burst = 100;
  int64_t group_ops_per_second = 10;
  int64_t group_ops_burst = 20;

  // [groups]
  int64_t group_max_members = 10'000;
  int64_t large_group_threshold = 2'000;
  int64_t recall_window_s = 120;

  // [push]
  std::string push_offline_enabled = "true";
  int64_t push_offline_queue = 1024;
  int64_t push_offline_unacked_resends = 2;

  // [messages]
  int64_t max_edit_history = 10;
  int64_t max_reactions = 50;
  int64_t max_stored_bytes = 256 * 1024;

  // [storage]
  std::string storage_backend = "sqlite";
  std::string durability = "full";  // full | normal
  // libpq connection string for storage_backend "postgres".
  std::string postgres_dsn = "host=127.0.0.1 port=5432 dbname=flare user=flare connect_timeout=5";
  // Days of messages the PostgreSQL store keeps (whole week partitions); 0 = forever.
  int64_t postgres_retention_days = 0;
  int64_t max_batch = 4096;
  int64_t max_pending_writes = 200'000;
  int64_t reader_threads = 2;
  int64_t checkpoint_wal_bytes = 64ll << 20;
  int64_t sqlite_cache_mib = 128;
  int64_t max_pending_bytes = 256ll << 20;
  int64_t writer_cached_conversations = 1'000'000;
  int64_t writer_cached_groups = 10'000;
  int64_t reader_queue = 100'000;

  // [sync]
  int64_t sync_default_limit = 100;
  int64_t sync_max_limit = 500;
  int64_t sync_max_page_bytes = 1024 * 1024;
  int64_t bootstrap_page_conversations = 200;

  // [presence]
  std::string presence_backend = "memory";  // | redis
  // Role processes: "direct" (presence.backend) | "signaling" (over gRPC)
  std::string presence_route_table = "direct";
  std::string presence_redis_url = "redis://127.0.0.1:6379/0";
  int64_t presence_redis_connections = 8;  // of a route table served to other processes
  int64_t gateway_ttl_ms = 30'000;  // a gateway's routes die this long after its last heartbeat
  std::string login_conflict = "coexist";
  int64_t max_subscriptions = 1'000;
  std::string presence_visibility = "shared_conversation";  // | tenant

  // [bus] the event bus between the orchestrator and the storage writer
  std::string bus_backend = "inprocess";  // | kafka
  std::string bus_kafka_brokers = "127.0.0.1:9092";
  int64_t bus_kafka_startup_timeout_ms = 10'000;
  int64_t bus_kafka_session_timeout_ms = 45'000;
  int64_t bus_kafka_fetch_wait_max_ms = 50;
  int64_t bus_kafka_linger_ms = 5;
  int64_t bus_kafka_heartbeat_interval_ms = 3'000;
  std::string bus_kafka_assignment_strategy = "range";  // | roundrobin
  int64_t bus_kafka_message_timeout_ms = 300'000;
  int64_t bus_kafka_replication_factor = 3;
  // The ingest stream (kafka bus): topic, its partitions when this process
  // creates it, and the storage writers' consumer group.
  std::string bus_ingest_topic = "flare.ingest";
  int64_t bus_ingest_partitions = 16;
  std::string bus_writer_group = "flare-storage-writer";
  std::string bus_gateway_topic = "flare.gateways";
  // How outcomes and pushes reach another process's gateway: "bus" (the
  // gateway inbox topic) | "grpc" (a stream to the gateway's delivery
  // service, its address in the gateway directory).
  std::string bus_gateway_delivery = "bus";

  // [discovery] how cluster roles find each other (ports/registry.h)
  std::string discovery_backend = "static";  // | consul
  // What other processes connect to; empty: bind_address (127.0.0.1 for 0.0.0.0)
  std::string discovery_advertise_address;
  // static: service name -> "host:port" of each of its instances
  std::map<std::string, std::vector<std::string>> discovery_static_services;
  std::string discovery_consul_url = "http://127.0.0.1:8500";
  std::string discovery_consul_token;  // X-Consul-Token; empty = none
  int64_t discovery_consul_request_timeout_ms = 5'000;
  int64_t discovery_consul_check_interval_ms = 10'000;
  int64_t discovery_consul_check_timeout_ms = 2'000;
  int64_t discovery_consul_deregister_after_s = 60;
  // [rpc] gRPC calls between roles (cluster mode)
  // gRPC port of a role process: -1 = the seed's port of its first role
  // (storage-reader 50054, session 50055); 0 picks a free port.
  int64_t rpc_port = -1;
  int64_t rpc_drain_timeout_ms = 5'000;        // in-flight calls get this long on SIGTERM
  int64_t rpc_deadline_ms = 2'000;             // a whole call, retries included
  int64_t rpc_storage_reader_deadline_ms = 0;  // 0: rpc_deadline_ms
  int64_t rpc_session_deadline_ms = 0;         // 0: rpc_deadline_ms
  int64_t rpc_signaling_deadline_ms = 0;       // signaling-online and -route; 0: rpc_deadline_ms
  int64_t rpc_retry_max_attempts = 3;          // of an idempotent call; 1 = no retry
  int64_t rpc_retry_initial_backoff_ms = 20;
  int64_t rpc_retry_max_backoff_ms = 1'000;
  int64_t rpc_retry_attempt_timeout_ms = 0;  // 0: an attempt may use the whole deadline
  int64_t rpc_submit_linger_us = 2000;       // a gateway's Submit batch gathers entries this long

  // [log]
  std::string log_level = "info";
  std::string log_format = "text";  // text | json

  // [[hooks]] (common/hook_config.h); applied by the hook engine
  std::vector<HookConfig> hooks;

  // [push.worker] push-worker (services/push/worker/)
  int64_t push_worker_max_attempts = 5;
  int64_t push_worker_initial_backoff_ms = 1'000;
  int64_t push_worker_max_backoff_ms = 300'000;
  int64_t push_worker_max_in_flight = 256;
  int64_t push_worker_send_timeout_ms = 10'000;
  int64_t push_worker_max_queued = 100'000;
  int64_t push_worker_dead_letters_kept = 1'000;
  std::string push_worker_tasks_topic = "flare.im.push.tasks";
  std::string push_worker_dlq_topic = "flare.im.push.dlq";
  std::string push_worker_group = "flare-push-worker";
  // [push.proxy] push-proxy (services/push/proxy/)
  int64_t push_proxy_schedule_interval_ms = 1'000;
  // [push.providers.<name>] and [push.tenants.<tenant>.<name>] (common/push_config.h)
  PushProvidersConfig push_providers;
  // [hook_admin] hooks.v1.HookAdminService (embedded mode and the hook-engine role);
  // off in embedded mode while the token is empty
  std::string hook_admin_address = "127.0.0.1";
  int64_t hook_admin_port = 50059;  // 0 picks a free port
  std::string hook_admin_token;     // "authorization: Bearer <token>" on every call
  // How often a process re-reads the saved hook list (services/hooks/hook_settings.h).
  int64_t hook_admin_reload_interval_ms = 2'000;

  // [auth] business-signed client tokens: <dir>/<tenant>/<kid>.pem public keys
  // (RSA: RS256, EC P-256: ES256); empty: HS256 tokens only
  std::string auth_public_keys_dir;

  // [http_api] the core-gateway's REST API on server.http_port (services/core_gateway/)
  int64_t http_api_threads = 2;                  // handler threads (storage reads block)
  int64_t http_api_max_body_bytes = 1 << 20;     // JSON requests; media uploads: media.*
  int64_t http_api_request_timeout_ms = 10'000;  // a whole request, read to answer
  int64_t http_api_key_rate_per_s = 200;         // token bucket per API key
  int64_t http_api_key_burst = 400;
  int64_t http_api_address_rate_per_s = 100;  // token bucket per source address
  int64_t http_api_address_burst = 200;
  int64_t http_api_breaker_failures = 5;  // consecutive failures that open a breaker
  int64_t http_api_breaker_open_ms = 5'000;
  int64_t http_api_keys_reload_interval_ms = 2'000;

  // [console] the web console (web/) served by the core-gateway
  std::string console_root;  // empty: the web/ folder of the source tree, if present
  // "loopback": POST /v1/dev/token issues client and admin tokens to
  // loopback clients; "off": never
  std::string console_dev_tokens = "loopback";

  // [media] the media service (services/media/)
  std::string media_backend = "filesystem";  // filesystem | s3 | memory
  std::string media_root;                    // filesystem: empty = <data_dir>/media
  std::string media_s3_endpoint;             // http(s)://host:port (MinIO) or AWS's
  std::string media_s3_bucket;
  std::string media_s3_region = "us-east-1";
  std::string media_s3_access_key;
  std::string media_s3_secret_key;
  int64_t media_max_bytes = 100 << 20;               // one object (tenant default)
  int64_t media_max_single_upload_bytes = 32 << 20;  // larger: multipart
  int64_t media_max_part_bytes = 16 << 20;
  std::string media_allowed_types = "image/*,video/*,audio/*,application/pdf,text/plain";
  int64_t media_presign_max_ttl_s = 86'400;
  int64_t media_thumbnail_px = 256;
  int64_t media_orphan_grace_s = 86'400;  // unreferenced uploads older than this go
  int64_t media_cleanup_interval_s = 3'600;
};

struct ConfigKeyInfo {
  std::string key;   // "server.http_port"
  std::string type;  // "int" | "string" | "services" (a table: name -> ["host:port", ...])
  std::string description;
};

// Every key Flare understands, for documentation and tests.
std::vector<ConfigKeyInfo> ListConfigKeys();

// Loads `path` (may be empty for defaults only) and applies `env`
// (FLARE_SECTION_KEY=value, e.g. FLARE_SERVER_HTTP_PORT=9000). The seed's
// variables CONSUL_ENDPOINTS (discovery.consul.url) and
// KAFKA_BOOTSTRAP_SERVERS (bus.kafka.brokers) are read too; a FLARE_*
// variable for the same key wins.
Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env);

// Sets one key from its string form, with the same checks as the file.
Status SetConfigValue(Config& config, const std::string& key, const std::string& value);

// The process environment: FLARE_* variables and the seed's variables above.
std::map<std::string, std::string> FlareEnvironment();

}  // namespace flare
