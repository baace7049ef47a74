#include "rpc/common/rpc_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <absl/synchronization/mutex.h>

#include <chrono>
#include <mutex>

namespace flare {

namespace {

// Long-lived streams (Submit, Deliver) must notice a peer that vanished
// without a reset (a host gone, a cable pulled): pings every 10 s, idle
// streams included, and a connection whose ping is not answered in 5 s
// is broken. Servers accept pings that often (RpcServer::Start).
constexpr int kKeepaliveTimeMs = 10'000;
constexpr int kKeepaliveTimeoutMs = 5'000;
constexpr int kMaxIdlePollers = 64;  // see RpcServer::Start

// Debian's Abseil is built with its debug checks on, so every absl::Mutex
// that gRPC locks also updated a lock-order graph (deadlock detection: a
// few percent of a busy role's CPU). Flare's own locks are std::mutex,
// checked by ThreadSanitizer in tests instead.
void TuneGrpcOnce() {
  static std::once_flag once;
  std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
}

grpc::ChannelArguments ChannelArgs() {
  TuneGrpcOnce();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

}  // namespace

void RpcServiceDeleter::operator()(grpc::Service* service) const { delete service; }

RpcServer::RpcServer(std::unique_ptr<grpc::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

RpcServer::~RpcServer() { Shutdown(0); }

Result<std::unique_ptr<RpcServer>> RpcServer::Start(const std::string& address,
                                                    const std::vector<grpc::Service*>& services) {
  // Process-wide in gRPC; read by each ServerBuilder when it builds.
  TuneGrpcOnce();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  // Clients ping every kKeepaliveTimeMs, also without calls (see ChannelArgs).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveTimeMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // The synchronous server runs each call on a poller thread and, by
  // default, lets a thread exit once more than two are idle: under many
  // concurrent unary calls (logins at a signaling role) it created and
  // destroyed a thread per call burst, and that churn cost more CPU than
  // the calls. Idle pollers are kept instead.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, kMaxIdlePollers);
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
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), ChannelArgs());
}

std::shared_ptr<grpc::Channel> OpenRpcChannel(const std::vector<std::string>& targets) {
  if (targets.size() == 1) return OpenRpcChannel(targets.front());
  // gRPC's "ipv4:" resolver takes a list of addresses; host names need
  // one DNS name that resolves to every instance instead.
  std::string list;
  for (const std::string& t : targets) list += (list.empty() ? "" : ",") + t;
  grpc::ChannelArguments args = ChannelArgs();
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel("ipv4:" + list, grpc::InsecureChannelCredentials(), args);
}

}  // namespace flare
