// Test support: Flare as a cluster of role processes on this machine, the
// layout scripts/cluster starts: storage-reader + session in one process,
// message-orchestrator, two storage writers (each with the push-server's
// fan-out) and two signaling gateways, on the Kafka mock cluster, a
// redis-server and a PostgreSQL database of the test's own.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
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
    reader_ = Role("storage-reader,session");
    orchestrator_ = Role("message-orchestrator");
    std::string rpc = "127.0.0.1:";
    gateway_env_ = env_;
    gateway_env_["FLARE_DISCOVERY_STATIC_SERVICES"] =
        "message-orchestrator=" + rpc + std::to_string(orchestrator_->rpc_port()) +
        ";storage-reader=" + rpc + std::to_string(reader_->rpc_port()) + ";session=" + rpc +
        std::to_string(reader_->rpc_port());
    // Started side by side: each waits for its consumer group to settle.
    std::thread second([&] { writers_[1] = Role("storage-writer,push-server"); });
    writers_[0] = Role("storage-writer,push-server");
    second.join();
    for (auto& gateway : gateways_) gateway = Role("signaling-gateway", gateway_env_);
  }

  // Empty when the backends are up.
  const std::string& error() const { return backends_.error(); }
  ServerProcess& gateway(int i) { return *gateways_[i]; }
  ServerProcess& writer(int i) { return *writers_[i]; }
  ServerProcess& orchestrator() { return *orchestrator_; }
  ServerProcess& reader() { return *reader_; }
  // Starts another process of `roles` on these backends (a gateway gets
  // the discovery list).
  std::unique_ptr<ServerProcess> Role(const std::string& roles) {
    return Role(roles, roles == "signaling-gateway" ? gateway_env_ : env_);
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
  std::map<std::string, std::string> env_, gateway_env_;
  std::unique_ptr<ServerProcess> reader_, orchestrator_;
  std::unique_ptr<ServerProcess> writers_[2];
  std::unique_ptr<ServerProcess> gateways_[2];
};

}  // namespace flare::testing
