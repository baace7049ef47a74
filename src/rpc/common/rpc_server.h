// A gRPC server for a role's services, and channels to other roles,
// without gRPC in the header (it is heavy to compile).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace grpc {
class CallbackGenericService;
class Channel;
class Server;
class Service;
}  // namespace grpc

namespace flare {

// Owns a service adapter; deletes it where grpc::Service is complete, so
// wiring can hold one without gRPC's headers.
struct RpcServiceDeleter {
  void operator()(grpc::Service* service) const;
};
using RpcServicePtr = std::unique_ptr<grpc::Service, RpcServiceDeleter>;

class RpcServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one) and serves
  // `services` (not owned: they must outlive the server). Plaintext: the
  // roles trust their network (see docs/architecture.md).
  static Result<std::unique_ptr<RpcServer>> Start(const std::string& address,
                                                  const std::vector<grpc::Service*>& services);
  ~RpcServer();  // Shutdown(0)

  int port() const { return port_; }
  // The gRPC health checking protocol (grpc.health.v1.Health, served by
  // every RpcServer): what Check answers for `service` ("" = the server
  // as a whole). A name never set answers NOT_FOUND.
  void SetServing(const std::string& service, bool serving);
  // Every service NOT_SERVING from now on, whatever SetServing says later:
  // the first step of a drain.
  void StopServingHealth();
  // Stops accepting calls; calls still running after `grace_ms` are cancelled.
  void Shutdown(int64_t grace_ms);

 private:
  RpcServer(std::unique_ptr<grpc::Server> server, int port);
  std::unique_ptr<grpc::CallbackGenericService> unimplemented_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A plaintext channel to `target` ("host:port"); it connects lazily.
std::shared_ptr<grpc::Channel> OpenRpcChannel(const std::string& target);
// A channel balancing calls round robin over `targets` (not empty; IPv4
// "a.b.c.d:port" when more than one).
std::shared_ptr<grpc::Channel> OpenRpcChannel(const std::vector<std::string>& targets);

}  // namespace flare
