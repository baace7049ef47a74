#include "app/spawn.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace flare {
namespace {

// The number after `key` in the listening line ("... http_port=8080 ..."); 0 if absent.
long AnnouncedNumber(const std::string& line, const char* key) {
  size_t at = line.find(key);
  return at == std::string::npos ? 0
                                 : std::strtol(line.c_str() + at + std::strlen(key), nullptr, 10);
}

}  // namespace

Result<ServeProcess> SpawnServe(const std::string& binary, const std::string& data_dir,
                                uint16_t ws_port, uint16_t http_port,
                                const std::map<std::string, std::string>& env) {
  int out[2];
  if (pipe(out) != 0) return IoError("pipe failed");
  // Formatted before fork: the child only calls async-signal-safe functions.
  const std::string exec_failed = "cannot run " + binary + ": errno ";
  ServeProcess p;
  p.pid = fork();
  if (p.pid < 0) return IoError("fork failed");
  if (p.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    // Free ports throughout: QUIC on one the kernel picks, unless `env` says.
    setenv("FLARE_SERVER_QUIC_PORT", "-1", 1);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::string ws = std::to_string(ws_port), http = std::to_string(http_port);
    execl(binary.c_str(), binary.c_str(), "serve", "--data-dir", data_dir.c_str(), "--ws-port",
          ws.c_str(), "--http-port", http.c_str(), static_cast<char*>(nullptr));
    char digits[16];
    int n = sizeof digits;
    for (int e = errno; n > 0 && (n == sizeof digits || e > 0); e /= 10) digits[--n] = '0' + e % 10;
    (void)!write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
    (void)!write(STDERR_FILENO, digits + n, sizeof digits - n);
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(127);
  }
  close(out[1]);
  // The server prints one line once it listens; a blocking read is the wait.
  FILE* f = fdopen(out[0], "r");
  char line[256] = {0};
  bool got = std::fgets(line, sizeof line, f) != nullptr;
  fclose(f);
  std::string text = line;
  if (!got || text.rfind("flare listening ", 0) != 0) {
    // Its stdout closed: it has exited (a server never closes it otherwise).
    int status = 0;
    std::string how;
    if (waitpid(p.pid, &status, 0) == p.pid) {
      how = WIFEXITED(status) ? " (exit status " + std::to_string(WEXITSTATUS(status)) + ")"
                              : " (signal " + std::to_string(WTERMSIG(status)) + ")";
    }
    return Internal(binary + " serve exited before listening" + how);
  }
  p.ws_port = static_cast<uint16_t>(AnnouncedNumber(text, "ws_port="));
  p.quic_port = static_cast<uint16_t>(AnnouncedNumber(text, "quic_port="));
  p.http_port = static_cast<uint16_t>(AnnouncedNumber(text, "http_port="));
  p.rpc_port = static_cast<int>(AnnouncedNumber(text, "rpc_port="));
  p.hook_admin_port = static_cast<int>(AnnouncedNumber(text, "hook_admin_port="));
  return p;
}

}  // namespace flare
