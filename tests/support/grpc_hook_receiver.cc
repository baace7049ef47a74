#include "support/grpc_hook_receiver.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <cstdlib>

#include "adapters/grpc_hooks/grpc_hook_codec.h"
#include "hooks/v1/hooks.grpc.pb.h"

namespace flare::testing {

namespace {

std::string Metadata(const grpc::ServerContext& context, const char* key) {
  auto it = context.client_metadata().find(key);
  return it == context.client_metadata().end() ? ""
                                               : std::string(it->second.data(), it->second.size());
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class GrpcHookReceiver::Service final : public ::hooks::v1::HookExtensionService::Service {
 public:
  Service(GrpcHookReceiver& receiver, std::string secret)
      : receiver_(receiver), secret_(std::move(secret)) {}

  grpc::Status Call(grpc::ServerContext* context, const ::hooks::v1::HookRequest* request,
                    ::hooks::v1::HookResponse* response) override {
    GrpcReceivedCall call;
    call.request = *request;
    call.peer = context->peer();
    Status verified =
        VerifyGrpcHookSignature(secret_, Metadata(*context, kGrpcHookTimestampKey),
                                Metadata(*context, kGrpcHookSignatureKey), *request, NowSeconds());
    call.signature_ok = verified.ok();
    call.signature_error = verified.message();
    GrpcReceiverReply reply = receiver_.Receive(std::move(call));
    if (!verified.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, verified.message());
    receiver_.Delay(reply.delay_ms);
    if (reply.status_code != 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(reply.status_code), "test says so");
    }
    *response = reply.response;
    return grpc::Status::OK;
  }

 private:
  GrpcHookReceiver& receiver_;
  std::string secret_;
};

GrpcHookReceiver::GrpcHookReceiver(std::string secret)
    : secret_(std::move(secret)), service_(std::make_unique<Service>(*this, secret_)) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) std::abort();  // the test cannot run without it
}

GrpcHookReceiver::~GrpcHookReceiver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

void GrpcHookReceiver::SetHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

GrpcReceiverReply GrpcHookReceiver::Receive(GrpcReceivedCall call) {
  std::lock_guard lock(mu_);
  GrpcReceiverReply reply = handler_ ? handler_(call) : GrpcReceiverReply{};
  calls_.push_back(std::move(call));
  cv_.notify_all();
  return reply;
}

void GrpcHookReceiver::Delay(int ms) {
  if (ms <= 0) return;
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

std::vector<GrpcReceivedCall> GrpcHookReceiver::Calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

bool GrpcHookReceiver::WaitForCalls(size_t n, int64_t timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return calls_.size() >= n; });
}

}  // namespace flare::testing
