#include "server_probe.h"

#include "app/spawn.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace flare::bench {

Result<ProcStats> ReadProcStats(pid_t pid) {
  ProcStats stats;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  if (!status) return NotFound("no process " + std::to_string(pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) stats.rss_bytes = std::stoll(line.substr(6)) * 1024;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name; utime and stime are 14 and 15.
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  long ticks = sysconf(_SC_CLK_TCK);
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) stats.cpu_seconds += std::stod(field) / static_cast<double>(ticks);
  }
  return stats;
}

Result<std::unique_ptr<SpawnedServer>> SpawnedServer::Start(
    const std::string& binary, const std::string& secret,
    const std::map<std::string, std::string>& env) {
  auto server = std::unique_ptr<SpawnedServer>(new SpawnedServer());
  char tmpl[] = "/tmp/flare-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return IoError("mkdtemp failed");
  server->data_dir_ = tmpl;
  std::map<std::string, std::string> all = {{"FLARE_AUTH_JWT_SECRET", secret},
                                            {"FLARE_SERVER_BIND_ADDRESS", "127.0.0.1"},
                                            {"FLARE_LOG_LEVEL", "warn"}};
  for (const auto& [k, v] : env) all[k] = v;
  auto p = SpawnServe(binary, server->data_dir_, 0, 0, all);
  if (!p.ok()) return p.status();
  server->pid_ = p->pid;
  server->ws_port_ = p->ws_port;
  server->hook_admin_port_ = p->hook_admin_port;
  return server;
}

SpawnedServer::~SpawnedServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

}  // namespace flare::bench
