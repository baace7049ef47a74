#include "app/roles/role_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "app/health_http.h"
#include "app/quic_wiring.h"
#include "app/roles/roles.h"
#include "app/wiring.h"
#include "common/metrics.h"
#include "services/signaling/gateway/transport.h"

namespace flare {
namespace {

class Roles final : public RoleServer {
 public:
  Roles(const Config& config, Stores stores, std::vector<std::string> names)
      : config_(config),
        names_(std::move(names)),
        stores_(std::move(stores)),
        access_(*stores_.conversations),
        deps_{config_, stores_, access_, shared_} {
    rpc_address_ = config.bind_address + ":" + std::to_string(RpcPort(config, names_));
  }

  ~Roles() override {
    Shutdown();
    roles_.clear();  // before the transport that may still hold their handler
  }

  // Builds the roles (they open what they share on first use).
  Status Build() {
    for (const std::string& name : names_) {
      auto role = FindRole(name)->make(deps_);
      if (!role.ok()) return Status(role.status().code(), name + ": " + role.status().message());
      roles_.push_back(std::move(role).value());
    }
    return Status::Ok();
  }

  Status Start() override {
    std::vector<grpc::Service*> services;
    for (auto& role : roles_) {
      if (role->service() != nullptr) services.push_back(role->service());
    }
    auto rpc = RpcServer::Start(rpc_address_, services);
    if (!rpc.ok()) return rpc.status();
    rpc_ = std::move(rpc).value();
    shared_.SetRpcPort(rpc_->port());
    // A role's peers may be in this very process: register before roles start.
    if (Status st = RegisterRpcRoles(); !st.ok()) return Undo(st, 0);
    for (size_t i = 0; i < roles_.size(); ++i) {
      if (Status st = roles_[i]->Start(); !st.ok()) return Undo(st, i);
    }
    ConnectionHandler* ws = nullptr;
    auto health = [this](const HttpServerRequest& r) { return health_.Handle(r); };
    HttpHandler http = SyncHttpHandler(health);
    for (auto& role : roles_) {
      if (role->connection_handler() != nullptr) ws = role->connection_handler();
      if (HttpHandler h = role->http_handler(health)) http = std::move(h);
    }
    TransportOptions options = GatewayTransportOptions(config_);
    if (ws == nullptr) options.io_threads = 1;  // HTTP only
    auto transport = MakeTransport(config_.ws_transport, options, ws, std::move(http));
    if (!transport.ok()) return Undo(transport.status(), roles_.size());
    transport_ = std::move(transport).value();
    if (Status st = transport_->Start(); !st.ok()) return Undo(st, roles_.size());
    // QUIC access beside WebSocket, to the same gateway (nullptr when off).
    auto quic = StartQuicListener(config_, ws);
    if (!quic.ok()) return Undo(quic.status(), roles_.size());
    quic_ = std::move(quic).value();
    // Again, now with the health URL the registry checks.
    Status registered = RegisterRpcRoles();
    if (registered.ok() && ws != nullptr) {
      registered = Register("signaling-gateway", transport_->ws_port());
    }
    if (!registered.ok()) return Undo(registered, roles_.size());
    // Everything answers from here on: tell health checkers.
    for (auto& role : roles_) {
      if (role->service() != nullptr) rpc_->SetServing(role->grpc_service_name(), true);
    }
    rpc_->SetServing("", true);
    started_ = true;
    return Status::Ok();
  }

  int rpc_port() const override { return rpc_ ? rpc_->port() : 0; }
  uint16_t http_port() const override { return transport_ ? transport_->http_port() : 0; }
  uint16_t ws_port() const override { return transport_ ? transport_->ws_port() : 0; }
  uint16_t quic_port() const override { return quic_ ? quic_->port() : 0; }

  void Shutdown() override {
    if (!started_ || draining_.exchange(true)) return;
    spdlog::info("draining: health NOT_SERVING, in-flight calls get {} ms",
                 config_.rpc_drain_timeout_ms);
    rpc_->StopServingHealth();
    Deregister();
    transport_->StopAccepting();
    if (quic_) quic_->StopAccepting();
    for (auto it = roles_.rbegin(); it != roles_.rend(); ++it) (*it)->Drain();
    rpc_->Shutdown(config_.rpc_drain_timeout_ms);
    // Last role first: the gateway (first in the seed's order) drains its
    // clients after the pipeline roles behind it have handed over.
    for (auto it = roles_.rbegin(); it != roles_.rend(); ++it) (*it)->Stop();
    if (quic_) quic_->Stop();
    transport_->Stop();
    spdlog::info("stopped");
  }

 private:
  // rpc.port, or -1: the seed's port of the first role that has one (0, a
  // free port, for a process of roles without one: it serves health only).
  static int RpcPort(const Config& config, const std::vector<std::string>& names) {
    if (config.rpc_port >= 0) return static_cast<int>(config.rpc_port);
    for (const std::string& name : names) {
      if (FindRole(name)->seed_port > 0) return FindRole(name)->seed_port;
    }
    return 0;
  }

  Status RegisterRpcRoles() {
    for (size_t i = 0; i < roles_.size(); ++i) {
      if (roles_[i]->service() == nullptr || !roles_[i]->discoverable()) continue;
      if (Status st = Register(names_[i], static_cast<uint16_t>(rpc_->port())); !st.ok()) {
        return st;
      }
    }
    return Status::Ok();
  }

  // The health URL is filled in when the HTTP listener is up; until then
  // a role is checked on nothing (a static registry checks nothing anyway).
  Status Register(const std::string& service, uint16_t port) {
    auto registry = shared_.Discovery();
    if (!registry.ok()) return registry.status();
    ServiceInstance instance;
    instance.service = service;
    instance.address = shared_.AdvertisedHost();
    instance.port = port;
    instance.id = service + "-" + instance.address + "-" + std::to_string(port);
    if (transport_ != nullptr) {
      instance.health_url =
          "http://" + instance.address + ":" + std::to_string(transport_->http_port()) + "/readyz";
    }
    if (Status st = (*registry)->Register(instance); !st.ok()) return st;
    registered_.push_back(instance.id);
    return Status::Ok();
  }

  void Deregister() {
    auto registry = shared_.Discovery();
    if (!registry.ok()) return;
    for (const std::string& id : registered_) {
      if (Status st = (*registry)->Deregister(id); !st.ok()) {
        spdlog::warn("deregistering {}: {}", id, st.ToString());
      }
    }
  }

  // Stops what Start began: the first `started` roles, the gRPC server.
  Status Undo(Status failure, size_t started) {
    Deregister();
    rpc_->Shutdown(0);  // no call reaches a role being stopped
    for (size_t i = started; i-- > 0;) roles_[i]->Stop();
    if (quic_ != nullptr) quic_->Stop();
    if (transport_ != nullptr) transport_->Stop();
    return failure;
  }

  Config config_;
  std::vector<std::string> names_;
  Stores stores_;
  ConversationAccess access_;
  Metrics metrics_;
  RoleShared shared_{config_, metrics_, names_};
  RoleDeps deps_;
  std::vector<std::unique_ptr<Role>> roles_;  // outlive rpc_, which serves their services
  std::atomic<bool> draining_{false};
  HealthHttp health_{metrics_, config_.metrics_token, draining_};
  std::string rpc_address_;
  std::unique_ptr<RpcServer> rpc_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<QuicListener> quic_;
  std::vector<std::string> registered_;
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
  // Started in the seed's order and stopped in reverse, however listed.
  std::vector<std::string> ordered;
  for (const RoleInfo& known : KnownRoles()) {
    if (std::find(roles.begin(), roles.end(), known.name) != roles.end()) {
      ordered.push_back(known.name);
    }
  }
  auto server = std::make_unique<Roles>(config, std::move(stores).value(), ordered);
  if (Status st = server->Build(); !st.ok()) return st;
  return std::unique_ptr<RoleServer>(std::move(server));
}

}  // namespace flare
