#include "app/roles/role_server.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "app/health_http.h"
#include "app/roles/roles.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "services/signaling/gateway/transport.h"

namespace flare {
namespace {

class Roles final : public RoleServer {
 public:
  Roles(const Config& config, Stores stores, const std::vector<std::string>& names)
      : config_(config),
        stores_(std::move(stores)),
        access_(*stores_.conversations),
        deps_{config_, stores_, access_} {
    for (const std::string& name : names) roles_.push_back(FindRole(name)->make(deps_));
    metrics_.AddCollector(RenderProcessMetrics);
    TransportOptions options;
    options.bind_address = config.bind_address;
    options.http_port = static_cast<uint16_t>(config.http_port);
    // No WebSocket handler: HTTP only.
    http_ = MakeBeastTransport(options, nullptr,
                               [this](const HttpRequest& r) { return health_.Handle(r); });
    rpc_address_ = config.bind_address + ":" + std::to_string(RpcPort(config, names));
  }

  ~Roles() override { Shutdown(); }

  Status Start() override {
    std::vector<grpc::Service*> services;
    for (auto& role : roles_) services.push_back(role->service());
    auto rpc = RpcServer::Start(rpc_address_, services);
    if (!rpc.ok()) return rpc.status();
    rpc_ = std::move(rpc).value();
    if (Status st = http_->Start(); !st.ok()) {
      rpc_->Shutdown(0);
      return st;
    }
    // Everything answers from here on: tell health checkers.
    for (auto& role : roles_) rpc_->SetServing(role->grpc_service_name(), true);
    rpc_->SetServing("", true);
    started_ = true;
    return Status::Ok();
  }

  int rpc_port() const override { return rpc_ ? rpc_->port() : 0; }
  uint16_t http_port() const override { return http_->http_port(); }

  void Shutdown() override {
    if (!started_ || draining_.exchange(true)) return;
    spdlog::info("draining: health NOT_SERVING, in-flight calls get {} ms",
                 config_.rpc_drain_timeout_ms);
    rpc_->StopServingHealth();
    http_->StopAccepting();
    rpc_->Shutdown(config_.rpc_drain_timeout_ms);
    http_->Stop();
    spdlog::info("stopped");
  }

 private:
  // rpc.port, or -1: the seed's port of the first role.
  static int RpcPort(const Config& config, const std::vector<std::string>& names) {
    if (config.rpc_port >= 0) return static_cast<int>(config.rpc_port);
    return FindRole(names.front())->seed_port;
  }

  Config config_;
  Stores stores_;
  ConversationAccess access_;
  RoleDeps deps_;
  std::vector<std::unique_ptr<Role>> roles_;  // outlive rpc_, which serves their services
  Metrics metrics_;
  std::atomic<bool> draining_{false};
  HealthHttp health_{metrics_, config_.metrics_token, draining_};
  std::string rpc_address_;
  std::unique_ptr<RpcServer> rpc_;
  std::unique_ptr<Transport> http_;
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<RoleServer>> RoleServer::Create(const Config& config,
                                                       const std::vector<std::string>& roles) {
  if (roles.empty()) return InvalidArgument("a role process needs at least one role");
  // The roles of a cluster share one store; SQLite is one process's file,
  // fine for a single role process (and tests), not for several.
  auto stores = OpenStores(config);
  if (!stores.ok()) return stores.status();
  return std::unique_ptr<RoleServer>(new Roles(config, std::move(stores).value(), roles));
}

}  // namespace flare
