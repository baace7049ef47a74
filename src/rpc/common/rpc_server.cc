#include "rpc/common/rpc_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>

namespace flare {

void RpcServiceDeleter::operator()(grpc::Service* service) const { delete service; }

RpcServer::RpcServer(std::unique_ptr<grpc::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

RpcServer::~RpcServer() { Shutdown(0); }

Result<std::unique_ptr<RpcServer>> RpcServer::Start(const std::string& address,
                                                    const std::vector<grpc::Service*>& services) {
  // Process-wide in gRPC; read by each ServerBuilder when it builds.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  // gRPC will not build a server without a method to serve; a process of
  // roles without a gRPC service (a gateway, a writer) serves health only,
  // and every other method answers UNIMPLEMENTED.
  auto unimplemented = std::make_unique<grpc::CallbackGenericService>();
  if (services.empty()) builder.RegisterCallbackGenericService(unimplemented.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return Unavailable("cannot serve gRPC on '" + address + "'");
  auto rpc = std::unique_ptr<RpcServer>(new RpcServer(std::move(server), port));
  rpc->unimplemented_ = std::move(unimplemented);
  return rpc;
}

void RpcServer::SetServing(const std::string& service, bool serving) {
  if (server_ && server_->GetHealthCheckService())
    server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

void RpcServer::StopServingHealth() {
  if (server_ && server_->GetHealthCheckService()) server_->GetHealthCheckService()->Shutdown();
}

void RpcServer::Shutdown(int64_t grace_ms) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  server_->Wait();
  server_.reset();
}

std::shared_ptr<grpc::Channel> OpenRpcChannel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

std::shared_ptr<grpc::Channel> OpenRpcChannel(const std::vector<std::string>& targets) {
  if (targets.size() == 1) return OpenRpcChannel(targets.front());
  // gRPC's "ipv4:" resolver takes a list of addresses; host names need
  // one DNS name that resolves to every instance instead.
  std::string list;
  for (const std::string& t : targets) list += (list.empty() ? "" : ",") + t;
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel("ipv4:" + list, grpc::InsecureChannelCredentials(), args);
}

}  // namespace flare
