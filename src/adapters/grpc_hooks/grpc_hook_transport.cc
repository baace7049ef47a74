#include "adapters/grpc_hooks/grpc_hook_transport.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "adapters/grpc_hooks/grpc_hook_codec.h"
#include "adapters/webhook/webhook_transport.h"
#include "common/hook_config.h"
#include "hooks/v1/hooks.grpc.pb.h"

namespace flare {
namespace {

namespace pb = ::hooks::v1;

HookCallResult Failed(Status status, bool timed_out = false) {
  HookCallResult r;
  r.status = std::move(status);
  r.timed_out = timed_out;
  return r;
}

// gRPC deadlines are on the system clock; the port's on the steady one.
std::chrono::system_clock::time_point SystemDeadline(HookTransport::Deadline deadline) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             deadline - std::chrono::steady_clock::now());
}

std::string UnixSeconds() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// One call in flight: owns what gRPC writes into until the callback ran.
struct PendingCall {
  grpc::ClientContext context;
  pb::HookRequest request;
  pb::HookResponse response;
  std::string hook;
  HookCallback done;
};

HookCallResult ResultOf(const PendingCall& call, const grpc::Status& status) {
  const std::string& name = call.hook;
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Failed(Unavailable("hook '" + name + "' timed out"), true);
  }
  if (!status.ok()) {
    return Failed(Unavailable("hook '" + name + "' answered gRPC status " +
                              std::to_string(status.error_code()) + ": " + status.error_message()));
  }
  auto decoded = FromProto(call.response);
  if (!decoded.ok()) return Failed(decoded.status());
  HookCallResult r;
  r.response = std::move(decoded).value();
  return r;
}

// One channel per host:port for the life of the process. gRPC 1.51 still
// touches a channel's callback completion queue after a call's callback
// returned; a channel destroyed right after its last callback (a
// transport closed and dropped at once) races that and aborts in
// grpc_cq_internal_unref. Hook targets are few, so keeping their channels
// costs little.
std::shared_ptr<grpc::Channel> ProcessChannel(const std::string& address) {
  static std::mutex mu;
  static auto* channels = new std::map<std::string, std::shared_ptr<grpc::Channel>>();
  std::lock_guard lock(mu);
  auto& channel = (*channels)[address];
  if (!channel) channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  return channel;
}

class GrpcHookTransport final : public HookTransport {
 public:
  explicit GrpcHookTransport(GrpcHookOptions options) : options_(options) {}
  ~GrpcHookTransport() override { Close(); }

  void Call(const HookTarget& target, HookRequest request, Deadline deadline,
            HookCallback done) override {
    auto address = GrpcHookAddress(target.url);
    if (!address.ok()) return done(Failed(address.status()));
    auto call = std::make_shared<PendingCall>();
    call->hook = target.name;
    call->done = std::move(done);
    call->request = ToProto(request);
    std::string timestamp = UnixSeconds();
    call->context.AddMetadata(kGrpcHookTimestampKey, timestamp);
    call->context.AddMetadata(kGrpcHookSignatureKey,
                              GrpcHookSignature(target.secret, timestamp, call->request));
    call->context.set_deadline(SystemDeadline(deadline));
    pb::HookExtensionService::Stub* stub = nullptr;
    {
      std::lock_guard lock(mu_);
      if (!closed_ && pending_.size() < options_.max_in_flight) {
        stub = StubFor(*address);
        pending_.emplace(call.get(), call);
      }
    }
    if (stub == nullptr) {
      return call->done(
          Failed(Unavailable("gRPC hook transport is closed or has too many calls in flight")));
    }
    // A Close between the insert and here cancels the context first; gRPC
    // then cancels the call as it starts, and the callback still runs.
    stub->async()->Call(&call->context, &call->request, &call->response,
                        [this, call](grpc::Status status) { OnDone(*call, status); });
  }

  void Close() override {
    std::vector<std::shared_ptr<PendingCall>> running;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      for (const auto& [raw, call] : pending_) running.push_back(call);
    }
    // Outside the lock: gRPC may run a callback (which takes it) at once.
    for (const auto& call : running) call->context.TryCancel();
    running.clear();
    // Each callback runs (CANCELLED at the latest) and removes its call:
    // no callback runs after Close returns.
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return pending_.empty(); });
  }

 private:
  // Under mu_. One stub per host:port, made on first use.
  pb::HookExtensionService::Stub* StubFor(const std::string& address) {
    auto& stub = stubs_[address];
    if (!stub) stub = pb::HookExtensionService::NewStub(ProcessChannel(address));
    return stub.get();
  }

  void OnDone(PendingCall& call, const grpc::Status& status) {
    call.done(ResultOf(call, status));
    std::lock_guard lock(mu_);
    pending_.erase(&call);
    if (pending_.empty()) idle_.notify_all();
  }

  GrpcHookOptions options_;
  std::mutex mu_;
  std::condition_variable idle_;
  bool closed_ = false;
  std::unordered_map<PendingCall*, std::shared_ptr<PendingCall>> pending_;
  std::map<std::string, std::unique_ptr<pb::HookExtensionService::Stub>> stubs_;
};

// Sends each call to the transport its URL's scheme names.
class HookTransportByScheme final : public HookTransport {
 public:
  HookTransportByScheme() : webhook_(MakeWebhookTransport()), grpc_(MakeGrpcHookTransport()) {}

  void Call(const HookTarget& target, HookRequest request, Deadline deadline,
            HookCallback done) override {
    HookTransport& transport = IsGrpcHookUrl(target.url) ? *grpc_ : *webhook_;
    transport.Call(target, std::move(request), deadline, std::move(done));
  }
  void Close() override {
    webhook_->Close();
    grpc_->Close();
  }

 private:
  std::unique_ptr<HookTransport> webhook_;
  std::unique_ptr<HookTransport> grpc_;
};

}  // namespace

std::unique_ptr<HookTransport> MakeGrpcHookTransport(GrpcHookOptions options) {
  return std::make_unique<GrpcHookTransport>(options);
}

std::unique_ptr<HookTransport> MakeHookTransport() {
  return std::make_unique<HookTransportByScheme>();
}

}  // namespace flare
