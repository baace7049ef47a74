// The `flare` subcommands. main.cc only parses flags and calls these.
#pragma once

#include <cstdint>
#include <string>

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
};

struct ChatFlags {
  CommonFlags common;
  std::string user, device = "chat", server;  // server empty: 127.0.0.1:<ws_port>
  std::string tenant = "default";
};

int RunServe(const ServeFlags& flags);
int RunToken(const TokenFlags& flags);
int RunChat(const ChatFlags& flags);
// Opens the configured store, which brings its schema to the binary's
// version (PostgreSQL: versioned migrations; SQLite: its tables), and exits.
int RunMigrate(const CommonFlags& flags);

}  // namespace flare
