// One cluster role hosted by a role process (`flare serve --role`): the
// domain objects of its seed module, the gRPC service that serves them (if
// any), and what it starts and stops. Each role is a small file beside
// this one; role_server.cc hosts them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "ports/event_bus.h"
#include "ports/gateway_directory.h"
#include "ports/presence_bus.h"
#include "ports/registry.h"
#include "ports/route_table.h"
#include "ports/store_factory.h"
#include "rpc/common/rpc_server.h"
#include "services/conversation_access.h"
#include "services/signaling/gateway/transport.h"
#include "services/signaling/inbox/inbox_transport.h"

namespace flare {

class DeviceActivitySink;

// What a process's roles share, opened once on first use whatever the roles.
class RoleShared {
 public:
  RoleShared(const Config& config, Metrics& metrics, std::vector<std::string> roles)
      : config_(config), metrics_(metrics), roles_(std::move(roles)) {}

  // The route table as presence.route_table says: the backend itself, or
  // a client of the signaling-online and signaling-route roles (unless
  // this process hosts them).
  Result<std::shared_ptr<RouteTable>> Routes();
  // presence.backend itself, whatever presence.route_table says.
  Result<std::shared_ptr<RouteTable>> RouteBackend();
  Result<std::shared_ptr<PresenceBus>> Presence();
  // bus.backend with the ingest and gateway topics created; a role process
  // needs a bus that crosses processes ("kafka").
  Result<std::shared_ptr<EventBus>> Bus();
  Result<std::shared_ptr<Registry>> Discovery();
  // The gateway directory on presence.backend (bus.gateway_delivery =
  // "grpc").
  Result<std::shared_ptr<GatewayDirectory>> Directory();
  // How this process hands inbox records to other processes' gateways, as
  // bus.gateway_delivery says: a producer on bus.gateway_topic, or a
  // GatewayDeliveryClient on the directory. Losses count in
  // inbox_publish_failures.
  Result<std::unique_ptr<InboxTransport>> NewInboxTransport();
  // The host other processes reach this one at: discovery.advertise_address,
  // else server.bind_address (127.0.0.1 for 0.0.0.0).
  std::string AdvertisedHost() const;
  // The gRPC server's port, known once it listens (before roles start).
  void SetRpcPort(int port) { rpc_port_ = port; }
  int rpc_port() const { return rpc_port_; }
  // A channel to the instances of the role named `service` (the registry's
  // healthy ones when this is called, balanced round robin).
  Result<std::shared_ptr<grpc::Channel>> ChannelTo(const std::string& service);
  ServerMetrics& server_metrics() { return server_metrics_; }
  Metrics& metrics() { return metrics_; }
  // The offline hand-off of this process's storage writer, which the
  // push-server role serves; null while there is none.
  void SetDeviceActivitySink(DeviceActivitySink* sink) { device_activity_.store(sink); }
  DeviceActivitySink* device_activity_sink() const { return device_activity_.load(); }

 private:
  Result<std::shared_ptr<RouteTable>> RouteClient();

  const Config& config_;
  Metrics& metrics_;
  const std::vector<std::string> roles_;
  ServerMetrics server_metrics_{metrics_};
  std::mutex mu_;
  std::shared_ptr<RouteTable> backend_routes_, routes_;
  std::shared_ptr<PresenceBus> presence_;
  std::shared_ptr<EventBus> bus_;
  std::shared_ptr<Registry> registry_;
  std::shared_ptr<GatewayDirectory> directory_;
  std::atomic<int> rpc_port_{0};
  std::atomic<DeviceActivitySink*> device_activity_{nullptr};
};

struct RoleDeps {
  const Config& config;
  Stores& stores;
  ConversationAccess& access;
  RoleShared& shared;
};

class Role {
 public:
  virtual ~Role() = default;
  // The gRPC service (owned by the role) and its full name, which is also
  // the name the health checking protocol answers for; null / empty for a
  // role that serves no gRPC (a gateway, a stream consumer).
  virtual grpc::Service* service() { return nullptr; }
  virtual std::string grpc_service_name() const { return ""; }
  // Whether the role's service is registered in discovery under the
  // role's name. A gateway's is not: senders find a gateway by its id in
  // the gateway directory, and "signaling-gateway" names its WebSocket
  // listener there.
  virtual bool discoverable() const { return true; }
  // Client connections, for a role that holds them (the signaling gateway).
  virtual ConnectionHandler* connection_handler() { return nullptr; }

  // After the gRPC server and listeners are up (a role's peers may be in
  // this very process); undoes itself when it fails.
  virtual Status Start() { return Status::Ok(); }
  // The first step of a drain, after the process stopped accepting
  // connections but before its gRPC server stops: a role holding clients
  // lets them go while the calls that serve them still arrive.
  virtual void Drain() {}
  // The drain, after the process stopped accepting connections and calls:
  // finish or hand over what is in flight, then stop.
  virtual void Stop() {}
};

std::unique_ptr<Role> MakeStorageReaderRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakePushProxyRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakePushWorkerRole(RoleDeps& deps);
std::unique_ptr<Role> MakePushServerRole(RoleDeps& deps);
std::unique_ptr<Role> MakeSessionRole(RoleDeps& deps);
// The pipeline roles open shared backends, so they may fail.
Result<std::unique_ptr<Role>> MakeGatewayRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakeOrchestratorRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakeStorageWriterRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakeSignalingOnlineRole(RoleDeps& deps);
Result<std::unique_ptr<Role>> MakeSignalingRouteRole(RoleDeps& deps);
// Refuses to start without hook_admin.token.
Result<std::unique_ptr<Role>> MakeHookEngineRole(RoleDeps& deps);
// media.v1.MediaService (app/roles/media_role.cc).
Result<std::unique_ptr<Role>> MakeMediaRole(RoleDeps& deps);

}  // namespace flare
