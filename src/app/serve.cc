#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>

#include "app/commands.h"
#include "app/config_loader.h"
#include "app/embedded_server.h"
#include "app/roles/role_server.h"
#include "app/roles/roles.h"
#include "common/logging.h"
#include "services/signaling/gateway/frame_codec.h"

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

// Signals are taken synchronously by the calling thread (sigwait); every
// thread started after this inherits the blocked mask.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

void WaitForStopSignal(sigset_t signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

// The server created and started, or null once why not is printed.
template <typename Server>
std::unique_ptr<Server> Started(Result<std::unique_ptr<Server>> created) {
  Status st = created.ok() ? (*created)->Start() : created.status();
  if (!st.ok()) {
    std::fprintf(stderr, "flare: %s\n", st.message().c_str());
    return nullptr;
  }
  return std::move(created).value();
}

int RunEmbedded(const Config& config, sigset_t signals) {
  auto server = Started(EmbeddedServer::Create(config));
  if (!server) return 1;
  spdlog::info("flare {} serving: data in {}, HTTP on {}, WebSocket on {}/ws{}", FLARE_VERSION,
               config.data_dir, server->http_port(), server->ws_port(),
               server->quic_port() ? ", QUIC on UDP " + std::to_string(server->quic_port()) : "");
  // A machine-readable line for scripts and tests that start the server.
  std::printf("flare listening ws_port=%u http_port=%u hook_admin_port=%d quic_port=%u\n",
              server->ws_port(), server->http_port(), server->hook_admin_port(),
              server->quic_port());
  std::fflush(stdout);
  WaitForStopSignal(signals);
  server->Shutdown();
  return 0;
}

int RunRoles(const Config& config, const std::vector<std::string>& roles, sigset_t signals) {
  std::string names;
  for (const auto& role : roles) names += (names.empty() ? "" : ",") + role;
  auto server = Started(RoleServer::Create(config, roles));
  if (!server) return 1;
  spdlog::info("flare {} serving roles {}: gRPC on {}, HTTP on {}{}{}", FLARE_VERSION, names,
               server->rpc_port(), server->http_port(),
               server->ws_port() ? ", WebSocket on " + std::to_string(server->ws_port()) : "",
               server->quic_port() ? ", QUIC on UDP " + std::to_string(server->quic_port()) : "");
  std::printf("flare listening roles=%s rpc_port=%d http_port=%u ws_port=%u quic_port=%u\n",
              names.c_str(), server->rpc_port(), server->http_port(), server->ws_port(),
              server->quic_port());
  std::fflush(stdout);
  WaitForStopSignal(signals);
  server->Shutdown();
  return 0;
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
  if (!flags.roles.empty()) config->roles = flags.roles;
  auto roles = ParseRoles(config->roles);
  if (!roles.ok()) {
    std::fprintf(stderr, "flare: %s\n", roles.status().message().c_str());
    return 2;
  }
  if (Status logging = SetupLogging(config->log_level, config->log_format); !logging.ok()) {
    std::fprintf(stderr, "flare: %s\n", logging.message().c_str());
    return 2;
  }
  RouteProtobufLogsToSpdlog();
  RaiseDescriptorLimit();
  sigset_t signals = BlockStopSignals();
  return roles->empty() ? RunEmbedded(*config, signals) : RunRoles(*config, *roles, signals);
}

}  // namespace flare
