#include "rpc/push/push_scheduler_grpc.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

constexpr char kPushServer[] = "push-server";

class PushSchedulerGrpcService final : public pv::PushSchedulerService::Service {
 public:
  explicit PushSchedulerGrpcService(DeviceOnlineSink& sink) : sink_(sink) {}

  grpc::Status DevicesOnline(grpc::ServerContext* context, const pv::DevicesOnlineRequest* request,
                             pv::DevicesOnlineResponse*) override {
    return rpc::ServeUnary(*context, "push.v1.PushSchedulerService/DevicesOnline",
                           [&](const Principal& who) {
                             for (const auto& login : request->logins()) {
                               if (login.user_id().empty() || login.device_id().empty()) {
                                 return InvalidArgument("a login needs user_id and device_id");
                               }
                             }
                             for (const auto& login : request->logins()) {
                               sink_.OnDeviceOnline(who.tenant, login.user_id(), login.device_id());
                             }
                             return Status::Ok();
                           });
  }

 private:
  DeviceOnlineSink& sink_;
};

struct Login {
  std::string tenant, user_id, device_id;
};

class PushSchedulerClient final : public DeviceOnlineSink {
 public:
  PushSchedulerClient(std::shared_ptr<Registry> registry, const RpcOptions& rpc,
                      PushSchedulerClientOptions options, Metrics* metrics)
      : registry_(std::move(registry)),
        caller_("push.v1.PushSchedulerService", rpc),
        options_(options) {
    if (metrics != nullptr) {
      dropped_ = &metrics->AddCounter(
          "flare_push_logins_dropped_total",
          "logins a gateway could not report to a push-server (a full queue or a failed call)");
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~PushSchedulerClient() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void OnDeviceOnline(const std::string& tenant, const std::string& user_id,
                      const std::string& device_id) override {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_.size() >= options_.max_pending) return Dropped(1);
    pending_.push_back({tenant, user_id, device_id});
    if (pending_.size() >= options_.max_batch) cv_.notify_all();
  }

 private:
  void Dropped(size_t n) {
    if (dropped_ != nullptr) dropped_->Add(static_cast<int64_t>(n));
  }

  // Flushes every flush_interval_ms (sooner when a batch is full); what is
  // pending at stop is sent once more.
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms),
                   [this] { return stopping_ || pending_.size() >= options_.max_batch; });
      bool last = stopping_;
      std::vector<Login> batch;
      size_t n = std::min(pending_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + static_cast<ptrdiff_t>(n)));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
      lock.unlock();
      if (!batch.empty()) Send(batch);
      lock.lock();
      if (last && pending_.empty()) return;
    }
  }

  void Send(const std::vector<Login>& batch) {
    std::map<std::string, pv::DevicesOnlineRequest> by_tenant;
    for (const Login& l : batch) {
      auto* login = by_tenant[l.tenant].add_logins();
      login->set_user_id(l.user_id);
      login->set_device_id(l.device_id);
    }
    auto instances = registry_->Resolve(kPushServer);
    if (!instances.ok() || instances->empty()) {
      spdlog::warn("push: {} logins not reported: no push-server in discovery ({})", batch.size(),
                   instances.ok() ? "none" : instances.status().ToString());
      return Dropped(batch.size());
    }
    for (const auto& instance : *instances) {
      auto* stub = StubFor(instance.address + ":" + std::to_string(instance.port));
      for (const auto& [tenant, request] : by_tenant) {
        Status st = caller_.Call("DevicesOnline", {tenant, "signaling-gateway", "", ""},
                                 rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
                                   pv::DevicesOnlineResponse response;
                                   return stub->DevicesOnline(&context, request, &response);
                                 });
        if (!st.ok()) {
          spdlog::warn("push: logins not reported to push-server {}: {}", instance.id,
                       st.ToString());
          Dropped(static_cast<size_t>(request.logins_size()));
        }
      }
    }
  }

  pv::PushSchedulerService::Stub* StubFor(const std::string& target) {
    auto& stub = stubs_[target];  // the flushing thread only
    if (!stub) stub = pv::PushSchedulerService::NewStub(OpenRpcChannel(target));
    return stub.get();
  }

  std::shared_ptr<Registry> registry_;
  rpc::RpcCaller caller_;
  const PushSchedulerClientOptions options_;
  Counter* dropped_ = nullptr;
  std::map<std::string, std::unique_ptr<pv::PushSchedulerService::Stub>> stubs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Login> pending_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

RpcServicePtr NewPushSchedulerGrpcService(DeviceOnlineSink& sink) {
  return RpcServicePtr(new PushSchedulerGrpcService(sink));
}

std::unique_ptr<DeviceOnlineSink> NewPushSchedulerClient(std::shared_ptr<Registry> registry,
                                                         const RpcOptions& rpc,
                                                         PushSchedulerClientOptions options,
                                                         Metrics* metrics) {
  return std::make_unique<PushSchedulerClient>(std::move(registry), rpc, options, metrics);
}

}  // namespace flare
