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
  explicit PushSchedulerGrpcService(DeviceActivitySink& sink) : sink_(sink) {}

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

  grpc::Status PushesUnacked(grpc::ServerContext* context, const pv::PushesUnackedRequest* request,
                             pv::PushesUnackedResponse*) override {
    return rpc::ServeUnary(
        *context, "push.v1.PushSchedulerService/PushesUnacked", [&](const Principal& who) {
          if (request->user_id().empty() || request->device_id().empty()) {
            return InvalidArgument("user_id and device_id are required");
          }
          std::vector<MessageRef> refs;
          for (const auto& p : request->pushes()) {
            if (p.conversation_id().empty() || p.seq() <= 0) {
              return InvalidArgument("a push needs conversation_id and a seq above 0");
            }
            refs.push_back({p.conversation_id(), p.seq()});
          }
          sink_.OnPushesUnacked(who.tenant, request->user_id(), request->device_id(),
                                std::move(refs));
          return Status::Ok();
        });
  }

 private:
  DeviceActivitySink& sink_;
};

// A login (no `unacked`) or pushes a device did not ack.
struct Report {
  std::string tenant, user_id, device_id;
  std::vector<MessageRef> unacked;
};

class PushSchedulerClient final : public DeviceActivitySink {
 public:
  PushSchedulerClient(std::shared_ptr<Registry> registry, const RpcOptions& rpc,
                      PushSchedulerClientOptions options, Metrics* metrics)
      : registry_(std::move(registry)),
        caller_("push.v1.PushSchedulerService", rpc),
        options_(options) {
    if (metrics != nullptr) {
      dropped_ = &metrics->AddCounter("flare_push_reports_dropped_total",
                                      "logins and unacked pushes a gateway could not report to a "
                                      "push-server (a full queue or a failed call)");
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
    Queue({tenant, user_id, device_id, {}});
  }
  void OnPushesUnacked(const std::string& tenant, const std::string& user_id,
                       const std::string& device_id, std::vector<MessageRef> messages) override {
    if (!messages.empty()) Queue({tenant, user_id, device_id, std::move(messages)});
  }

 private:
  void Queue(Report report) {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_.size() >= options_.max_pending) return Dropped(1);
    pending_.push_back(std::move(report));
    if (pending_.size() >= options_.max_batch) cv_.notify_all();
  }

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
      std::vector<Report> batch;
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

  void Send(std::vector<Report>& batch) {
    auto instances = registry_->Resolve(kPushServer);
    if (!instances.ok() || instances->empty()) {
      spdlog::warn("push: {} reports not sent: no push-server in discovery ({})", batch.size(),
                   instances.ok() ? "none" : instances.status().ToString());
      return Dropped(batch.size());
    }
    std::map<std::string, pv::DevicesOnlineRequest> logins;  // by tenant
    for (Report& r : batch) {
      if (r.unacked.empty()) {
        auto* login = logins[r.tenant].add_logins();
        login->set_user_id(r.user_id);
        login->set_device_id(r.device_id);
      } else {
        // One push-server is enough: it reads the messages from the store.
        const auto& instance = (*instances)[next_++ % instances->size()];
        SendUnacked(instance, r);
      }
    }
    // Every push-server: each may hold coalesced conversations of the device.
    for (const auto& instance : *instances) {
      for (const auto& [tenant, request] : logins) SendLogins(instance, tenant, request);
    }
  }

  void SendLogins(const ServiceInstance& instance, const std::string& tenant,
                  const pv::DevicesOnlineRequest& request) {
    auto* stub = StubFor(instance);
    Status st = caller_.Call("DevicesOnline", {tenant, "signaling-gateway", "", ""},
                             rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
                               pv::DevicesOnlineResponse response;
                               return stub->DevicesOnline(&context, request, &response);
                             });
    if (!st.ok()) {
      spdlog::warn("push: logins not reported to push-server {}: {}", instance.id, st.ToString());
      Dropped(static_cast<size_t>(request.logins_size()));
    }
  }

  void SendUnacked(const ServiceInstance& instance, const Report& r) {
    pv::PushesUnackedRequest request;
    request.set_user_id(r.user_id);
    request.set_device_id(r.device_id);
    for (const MessageRef& m : r.unacked) {
      auto* push = request.add_pushes();
      push->set_conversation_id(m.conversation_id);
      push->set_seq(m.seq);
    }
    auto* stub = StubFor(instance);
    Status st = caller_.Call("PushesUnacked", {r.tenant, "signaling-gateway", "", ""},
                             rpc::Idempotency::kNotIdempotent, [&](grpc::ClientContext& context) {
                               pv::PushesUnackedResponse response;
                               return stub->PushesUnacked(&context, request, &response);
                             });
    if (!st.ok()) {
      spdlog::warn("push: unacked pushes not reported to push-server {}: {}", instance.id,
                   st.ToString());
      Dropped(1);
    }
  }

  pv::PushSchedulerService::Stub* StubFor(const ServiceInstance& instance) {
    std::string target = instance.address + ":" + std::to_string(instance.port);
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
  std::vector<Report> pending_;
  size_t next_ = 0;  // round robin of unacked reports (the flushing thread only)
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

RpcServicePtr NewPushSchedulerGrpcService(DeviceActivitySink& sink) {
  return RpcServicePtr(new PushSchedulerGrpcService(sink));
}

std::unique_ptr<DeviceActivitySink> NewPushSchedulerClient(std::shared_ptr<Registry> registry,
                                                           const RpcOptions& rpc,
                                                           PushSchedulerClientOptions options,
                                                           Metrics* metrics) {
  return std::make_unique<PushSchedulerClient>(std::move(registry), rpc, options, metrics);
}

}  // namespace flare
