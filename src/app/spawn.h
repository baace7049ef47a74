// Starts `flare serve` as a child process and waits for its "listening"
// line: how flare-bench --spawn-server and the end-to-end tests get a real
// server on free ports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"

namespace flare {

struct ServeProcess {
  pid_t pid = -1;
  uint16_t ws_port = 0;
  uint16_t quic_port = 0;  // 0: QUIC off
  uint16_t http_port = 0;
  int rpc_port = 0;         // a role process's gRPC port (server.roles other than "all")
  int hook_admin_port = 0;  // embedded mode with hook_admin.token set
};

// `env` is set in the child on top of the inherited environment (with
// FLARE_SERVER_ROLES the child is a role process); port 0 picks a free
// port.
Result<ServeProcess> SpawnServe(const std::string& binary, const std::string& data_dir,
                                uint16_t ws_port, uint16_t http_port,
                                const std::map<std::string, std::string>& env);

}  // namespace flare
