#include <spdlog/spdlog.h>

#include "app/roles/role.h"
#include "app/wiring.h"
#include "rpc/gateway_delivery/gateway_delivery_grpc.h"
#include "rpc/signaling/signaling_grpc.h"
#include "services/signaling/inbox/bus_inbox_transport.h"

#include <algorithm>

namespace flare {
namespace {

bool IsIpv4(const std::string& host) {
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

Result<std::shared_ptr<RouteTable>> RoleShared::RouteBackend() {
  std::lock_guard lock(mu_);
  if (!backend_routes_) {
    // The signaling roles serve it to every gateway; other roles register
    // their own routes through it.
    bool serves = std::find(roles_.begin(), roles_.end(), "signaling-online") != roles_.end() ||
                  std::find(roles_.begin(), roles_.end(), "signaling-route") != roles_.end();
    auto opened = OpenRouteTable(
        config_, serves ? RouteTableUse::kServedToOthers : RouteTableUse::kOwnRoutes);
    if (!opened.ok()) return opened.status();
    backend_routes_ = std::move(opened).value();
  }
  return backend_routes_;
}

Result<std::shared_ptr<RouteTable>> RoleShared::Routes() {
  auto hosts = [&](const char* role) {
    return std::find(roles_.begin(), roles_.end(), role) != roles_.end();
  };
  if (config_.presence_route_table == "direct" || hosts("signaling-online") ||
      hosts("signaling-route")) {
    return RouteBackend();
  }
  return RouteClient();
}

Result<std::shared_ptr<RouteTable>> RoleShared::RouteClient() {
  {
    std::lock_guard lock(mu_);
    if (routes_) return routes_;
  }
  auto online = ChannelTo("signaling-online");
  if (!online.ok()) return online.status();
  auto router = ChannelTo("signaling-route");
  if (!router.ok()) return router.status();
  std::lock_guard lock(mu_);
  if (!routes_) {
    routes_ =
        NewRouteTableGrpcClient(*online, *router, RpcOptionsFor(config_, RpcService::kSignaling));
  }
  return routes_;
}

Result<std::shared_ptr<PresenceBus>> RoleShared::Presence() {
  std::lock_guard lock(mu_);
  if (!presence_) {
    auto opened = OpenPresenceBus(config_);
    if (!opened.ok()) return opened.status();
    presence_ = std::move(opened).value();
  }
  return presence_;
}

Result<std::shared_ptr<EventBus>> RoleShared::Bus() {
  std::lock_guard lock(mu_);
  if (!bus_) {
    if (config_.bus_backend == "inprocess") {
      return InvalidArgument(
          "bus.backend = \"inprocess\" cannot join role processes: the pipeline roles need "
          "bus.backend = \"kafka\"");
    }
    auto opened = OpenClusterBus(config_);
    if (!opened.ok()) return opened.status();
    bus_ = std::move(opened).value();
  }
  return bus_;
}

Result<std::shared_ptr<Registry>> RoleShared::Discovery() {
  std::lock_guard lock(mu_);
  if (!registry_) {
    auto opened = OpenRegistry(config_);
    if (!opened.ok()) return opened.status();
    registry_ = std::move(opened).value();
  }
  return registry_;
}

Result<std::shared_ptr<grpc::Channel>> RoleShared::ChannelTo(const std::string& service) {
  auto registry = Discovery();
  if (!registry.ok()) return registry.status();
  auto instances = (*registry)->Resolve(service);
  if (!instances.ok()) return instances.status();
  if (instances->empty()) {
    return Unavailable("no instance of '" + service + "' in discovery (" +
                       config_.discovery_backend +
                       "); with the static list, set discovery.static.services." + service);
  }
  std::vector<std::string> targets;
  for (const ServiceInstance& i : *instances) {
    if (instances->size() > 1 && !IsIpv4(i.address)) {
      spdlog::warn("'{}' has {} instances but {} is not an IPv4 address: calls go to {} only",
                   service, instances->size(), i.address, i.address);
      targets = {i.address + ":" + std::to_string(i.port)};
      break;
    }
    targets.push_back(i.address + ":" + std::to_string(i.port));
  }
  return OpenRpcChannel(targets);
}

Result<std::shared_ptr<GatewayDirectory>> RoleShared::Directory() {
  std::lock_guard lock(mu_);
  if (!directory_) {
    auto opened = OpenGatewayDirectory(config_);
    if (!opened.ok()) return opened.status();
    directory_ = std::move(opened).value();
  }
  return directory_;
}

Result<std::unique_ptr<InboxTransport>> RoleShared::NewInboxTransport() {
  Counter* lost = &server_metrics_.inbox_publish_failures;
  if (config_.bus_gateway_delivery == "grpc") {
    auto directory = Directory();
    if (!directory.ok()) return directory.status();
    GatewayDeliveryClientOptions options;
    // A gateway silent this long has lost its routes: nothing more is
    // routed to it.
    options.forget_after_ms = config_.gateway_ttl_ms;
    return std::unique_ptr<InboxTransport>(NewGatewayDeliveryClient(**directory, lost, options));
  }
  auto bus = Bus();
  if (!bus.ok()) return bus.status();
  auto producer = (*bus)->CreateProducer();
  if (!producer.ok()) return producer.status();
  return std::unique_ptr<InboxTransport>(std::make_unique<BusInboxTransport>(
      config_.bus_gateway_topic, std::move(producer).value(), lost));
}

std::string RoleShared::AdvertisedHost() const {
  if (!config_.discovery_advertise_address.empty()) return config_.discovery_advertise_address;
  return config_.bind_address == "0.0.0.0" ? "127.0.0.1" : config_.bind_address;
}

}  // namespace flare
