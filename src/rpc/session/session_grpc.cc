#include "rpc/session/session_grpc.h"

#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"
#include "session/v1/session.grpc.pb.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using GrpcSessionService = ::session::v1::SessionService;

class SessionGrpcService final : public GrpcSessionService::Service {
 public:
  explicit SessionGrpcService(SessionService& sessions) : sessions_(sessions) {}

  grpc::Status Bootstrap(grpc::ServerContext* context, const pb::BootstrapRequest* request,
                         pb::BootstrapResult* response) override {
    return rpc::ServeUnary(*context, "session.v1.SessionService/Bootstrap",
                           [&](const Principal& who) {
                             auto result = sessions_.Bootstrap(who, *request);
                             if (!result.ok()) return result.status();
                             response->Swap(&*result);
                             return Status::Ok();
                           });
  }

 private:
  SessionService& sessions_;
};

class SessionGrpcClient final : public SessionService {
 public:
  SessionGrpcClient(std::shared_ptr<grpc::Channel> channel, const RpcOptions& options,
                    RpcSeams seams)
      : stub_(GrpcSessionService::NewStub(std::move(channel))),
        caller_("session.v1.SessionService", options, seams) {}

  using SessionService::Bootstrap;
  Result<pb::BootstrapResult> Bootstrap(const Principal& who,
                                        const pb::BootstrapRequest& request) override {
    pb::BootstrapResult response;
    Status status = caller_.Call("Bootstrap", who, rpc::Idempotency::kIdempotent,
                                 [&](grpc::ClientContext& context) {
                                   response.Clear();
                                   return stub_->Bootstrap(&context, request, &response);
                                 });
    if (!status.ok()) return status;
    return response;
  }

 private:
  std::unique_ptr<GrpcSessionService::Stub> stub_;
  rpc::RpcCaller caller_;
};

}  // namespace

RpcServicePtr NewSessionGrpcService(SessionService& sessions) {
  return RpcServicePtr(new SessionGrpcService(sessions));
}

std::unique_ptr<SessionService> NewSessionGrpcClient(std::shared_ptr<grpc::Channel> channel,
                                                     const RpcOptions& options, RpcSeams seams) {
  return std::make_unique<SessionGrpcClient>(std::move(channel), options, seams);
}

}  // namespace flare
