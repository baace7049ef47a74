// The server under test: spawned by flare-bench (--spawn-server) or given by
// address and pid; its memory and CPU read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace flare::bench {

struct ProcStats {
  int64_t rss_bytes = 0;
  double cpu_seconds = 0;  // user + system
};

Result<ProcStats> ReadProcStats(pid_t pid);

// The process with a TCP socket listening on `port` (from /proc/net/tcp{,6}
// and the processes' open files; needs the right to read their fd lists).
Result<pid_t> FindListeningPid(uint16_t port);

class SpawnedServer {
 public:
  // Starts `flare serve` on free ports in a temporary data dir.
  static Result<std::unique_ptr<SpawnedServer>> Start(
      const std::string& binary, const std::string& secret,
      const std::map<std::string, std::string>& env);
  ~SpawnedServer();
  pid_t pid() const { return pid_; }
  uint16_t ws_port() const { return ws_port_; }
  uint16_t http_port() const { return http_port_; }         // /healthz, /metrics
  int hook_admin_port() const { return hook_admin_port_; }  // with FLARE_HOOK_ADMIN_TOKEN
  const std::string& data_dir() const { return data_dir_; }

 private:
  pid_t pid_ = -1;
  uint16_t ws_port_ = 0;
  uint16_t http_port_ = 0;
  int hook_admin_port_ = 0;
  std::string data_dir_;
};

}  // namespace flare::bench
