#include "server_probe.h"

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
  int out[2];
  if (pipe(out) != 0) return IoError("pipe failed");
  server->pid_ = fork();
  if (server->pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    setenv("FLARE_AUTH_JWT_SECRET", secret.c_str(), 1);
    setenv("FLARE_SERVER_BIND_ADDRESS", "127.0.0.1", 1);
    setenv("FLARE_LOG_LEVEL", "warn", 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execl(binary.c_str(), binary.c_str(), "serve", "--data-dir", server->data_dir_.c_str(),
          "--ws-port", "0", "--http-port", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[256] = {0};
  bool got = std::fgets(line, sizeof line, f) != nullptr;
  fclose(f);
  unsigned ws = 0, http = 0;
  if (!got || std::sscanf(line, "flare listening ws_port=%u http_port=%u", &ws, &http) != 2) {
    return Internal("the spawned server did not start (" + binary + ")");
  }
  server->ws_port_ = static_cast<uint16_t>(ws);
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
