#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>

#include "app/commands.h"
#include "app/config_loader.h"
#include "app/embedded_server.h"
#include "common/logging.h"

namespace flare {
namespace {

// Connections need descriptors: take the whole hard limit.
void RaiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) getrlimit(RLIMIT_NOFILE, &lim);
  spdlog::info("open files: soft limit {} -> {}, hard limit {}", before, lim.rlim_cur,
               lim.rlim_max);
}

}  // namespace

int RunServe(const ServeFlags& flags) {
  auto config = LoadCommandConfig(flags.common);
  if (!config.ok()) {
    std::fprintf(stderr, "flare: %s\n", config.status().message().c_str());
    return 2;
  }
  if (flags.http_port >= 0) config->http_port = flags.http_port;
  if (flags.ws_port >= 0) config->ws_port = flags.ws_port;
  if (Status logging = SetupLogging(config->log_level, config->log_format); !logging.ok()) {
    std::fprintf(stderr, "flare: %s\n", logging.message().c_str());
    return 2;
  }
  RaiseDescriptorLimit();

  // Signals are taken synchronously by this thread; every other thread
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = EmbeddedServer::Create(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "flare: %s\n", server.status().message().c_str());
    return 1;
  }
  if (Status st = (*server)->Start(); !st.ok()) {
    std::fprintf(stderr, "flare: %s\n", st.message().c_str());
    return 1;
  }
  spdlog::info("flare {} serving: data in {}, HTTP on {}, WebSocket on {}/ws", FLARE_VERSION,
               config->data_dir, (*server)->http_port(), (*server)->ws_port());
  // A machine-readable line for scripts and tests that start the server.
  std::printf("flare listening ws_port=%u http_port=%u\n", (*server)->ws_port(),
              (*server)->http_port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  return 0;
}

}  // namespace flare
