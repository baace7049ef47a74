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

namespace {

// The inode of a socket listening on `port`, or empty.
std::string ListeningInode(uint16_t port) {
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string slot, local, remote, state, skip, inode;
      row >> slot >> local >> remote >> state;
      for (int i = 0; i < 5; ++i) row >> skip;  // tx:rx, tr:when, retrnsmt, uid, timeout
      row >> inode;
      auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return inode;
    }
  }
  return "";
}

}  // namespace

Result<pid_t> FindListeningPid(uint16_t port) {
  std::string inode = ListeningInode(port);
  if (inode.empty()) return NotFound("nothing listens on port " + std::to_string(port));
  std::string target = "socket:[" + inode + "]";
  // Explicit increments with error codes: processes come and go meanwhile.
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    std::string name = proc->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec); !fd_ec && fd != end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd->path(), link_ec).string() == target) {
        return static_cast<pid_t>(std::stol(name));
      }
    }
  }
  return NotFound("no readable process holds the socket listening on port " + std::to_string(port));
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
  server->http_port_ = p->http_port;
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
