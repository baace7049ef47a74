// The `flare` subcommands. main.cc only parses flags and calls these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flare {

struct CommonFlags {
  std::string config_path;
  std::string data_dir;  // empty: from config
};

struct ServeFlags {
  CommonFlags common;
  int http_port = -1;  // -1: from config
  int ws_port = -1;
  std::string roles;  // empty: server.roles
};

struct TokenFlags {
  CommonFlags common;
  std::string user, tenant = "default", device = "default", platform = "unknown";
  int64_t ttl_s = 0;  // 0: auth.token_ttl_s
  bool admin = false;  // an admin token for the HTTP API (tenant "*": every tenant)
};

struct ApiKeyFlags {
  CommonFlags common;
  std::string action;  // create | revoke | list
  std::string tenant, id;
  std::vector<std::string> scopes;
};

struct ChatFlags {
  CommonFlags common;
  std::string user, device = "chat", server;  // server empty: 127.0.0.1:<ws_port or quic_port>
  std::string tenant = "default";
  // QUIC instead of WebSocket. The server's certificate: pinned from
  // quic_cert (default: server.quic_cert_file, else the development
  // certificate in server.data_dir), or not checked with quic_insecure.
  bool quic = false;
  std::string quic_cert;
  bool quic_insecure = false;
};

int RunServe(const ServeFlags& flags);
int RunToken(const TokenFlags& flags);
int RunChat(const ChatFlags& flags);
// API keys of the HTTP API, in the configured store (a running server sees
// a new key at once and a revocation within http_api.keys_reload_interval_ms).
int RunApiKey(const ApiKeyFlags& flags);
// Opens the configured store, which brings its schema to the binary's
// version (PostgreSQL: versioned migrations; SQLite: its tables), and exits.
int RunMigrate(const CommonFlags& flags);

}  // namespace flare
