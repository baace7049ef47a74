// Test support: Flare as a cluster of role processes on this machine, the
// layout scripts/cluster starts: signaling-online + signaling-route in one
// process, storage-reader + session in another, message-orchestrator, two
// storage writers (each with the push-server's fan-out) and two signaling
// gateways, on the Kafka mock cluster, a redis-server and a PostgreSQL
// database of the test's own. Gateways and writers reach the route table
// through the signaling roles (presence.route_table = "signaling"), and
// hand outcomes and pushes to gateways over gRPC (bus.gateway_delivery =
// "grpc"; e2e_gateway_inbox_kafkatest covers the inbox topic). Gateways
// report logins to the writers' push-server role.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/cluster_backends.h"
#include "support/server_process.h"

namespace flare::testing {

class LocalCluster {
 public:
  explicit LocalCluster(const std::string& database) : backends_(database) {
    if (!backends_.error().empty()) return;
    env_ = backends_.ServeEnv();
    env_["FLARE_RPC_PORT"] = "0";
    env_["FLARE_RPC_DRAIN_TIMEOUT_MS"] = "500";
    env_["FLARE_BUS_GATEWAY_DELIVERY"] = "grpc";
    signaling_ = Role("signaling-online,signaling-route", env_);
    reader_ = Role("storage-reader,session", env_);
    orchestrator_ = Role("message-orchestrator", env_);
    auto at = [](const ServerProcess& p) { return "127.0.0.1:" + std::to_string(p.rpc_port()); };
    env_["FLARE_DISCOVERY_STATIC_SERVICES"] =
        "message-orchestrator=" + at(*orchestrator_) + ";storage-reader=" + at(*reader_) +
        ";session=" + at(*reader_) + ";signaling-online=" + at(*signaling_) +
        ";signaling-route=" + at(*signaling_);
    env_["FLARE_PRESENCE_ROUTE_TABLE"] = "signaling";
    // Started side by side: each waits for its consumer group to settle.
    std::thread second([&] { writers_[1] = Role("storage-writer,push-server"); });
    writers_[0] = Role("storage-writer,push-server");
    second.join();
    // Gateways report logins to every push-server (the writers' processes).
    env_["FLARE_DISCOVERY_STATIC_SERVICES"] +=
        ";push-server=" + at(*writers_[0]) + "," + at(*writers_[1]);
    // The first gateway's process serves the HTTP API too.
    gateways_[0] = Role("signaling-gateway,core-gateway");
    for (size_t i = 1; i < std::size(gateways_); ++i) gateways_[i] = Role("signaling-gateway");
  }

  // Empty when the backends are up.
  const std::string& error() const { return backends_.error(); }
  ServerProcess& gateway(int i) { return *gateways_[i]; }
  ServerProcess& writer(int i) { return *writers_[i]; }
  ServerProcess& orchestrator() { return *orchestrator_; }
  ServerProcess& reader() { return *reader_; }
  ServerProcess& signaling() { return *signaling_; }
  ClusterBackends& backends() { return backends_; }
  // Starts another process of `roles` on these backends.
  std::unique_ptr<ServerProcess> Role(const std::string& roles) { return Role(roles, env_); }
  // Every process with its role label (as deploy/prometheus/roles files
  // name them), the gateways last.
  std::vector<std::pair<std::string, ServerProcess*>> Processes() {
    return {
        {"signaling-online", signaling_.get()},        {"storage-reader", reader_.get()},
        {"message-orchestrator", orchestrator_.get()}, {"storage-writer", writers_[0].get()},
        {"storage-writer", writers_[1].get()},         {"signaling-gateway", gateways_[0].get()},
        {"signaling-gateway", gateways_[1].get()}};
  }
  // Restarts, as a supervisor would, every process that stopped itself on
  // a storage failure (ServerProcess::FailStopped); returns how many.
  int RestartFailStopped() {
    int restarted = 0;
    for (auto& [role, process] : Processes()) {
      if (!process->FailStopped()) continue;
      process->Restart();
      ++restarted;
    }
    return restarted;
  }
  // Replaces writer `i` (killed) with a new process.
  void StartWriter(int i) { writers_[i] = Role("storage-writer,push-server"); }

 private:
  std::unique_ptr<ServerProcess> Role(const std::string& roles,
                                      std::map<std::string, std::string> env) {
    env["FLARE_SERVER_ROLES"] = roles;
    return std::make_unique<ServerProcess>(env);
  }

  ClusterBackends backends_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ServerProcess> signaling_, reader_, orchestrator_;
  std::unique_ptr<ServerProcess> writers_[2];
  std::unique_ptr<ServerProcess> gateways_[2];
};

}  // namespace flare::testing
