#include "rpc/push/push_scheduler_grpc.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"

namespace flare {
namespace {

namespace pv = ::push::v1;

constexpr char kPushServer[] = "push-server";
// A gateway reports at most a session's unacked pushes at once
// (gateway.max_unacked_pushes); far more is not a gateway talking.
constexpr int kMaxPushesPerReport = 100'000;

class PushSchedulerGrpcService final : public pv::PushSchedulerService::Service {
 public:
  explicit PushSchedulerGrpcService(std::function<DeviceActivitySink*()> sink)
      : sink_(std::move(sink)) {}

  grpc::Status DevicesOnline(grpc::ServerContext* context, const pv::DevicesOnlineRequest* request,
                             pv::DevicesOnlineResponse*) override {
    return rpc::ServeUnary(*context, "push.v1.PushSchedulerService/DevicesOnline",
                           [&](const Principal& who) {
                             for (const auto& login : request->logins()) {
                               if (login.user_id().empty() || login.device_id().empty()) {
                                 return InvalidArgument("a login needs user_id and device_id");
                               }
                             }
                             DeviceActivitySink* sink = sink_();
                             if (sink == nullptr) return NoHandoff();
                             for (const auto& login : request->logins()) {
                               sink->OnDeviceOnline(who.tenant, login.user_id(), login.device_id());
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
          if (request->pushes_size() > kMaxPushesPerReport) {
            return InvalidArgument("at most " + std::to_string(kMaxPushesPerReport) +
                                   " pushes per report");
          }
          DeviceActivitySink* sink = sink_();
          if (sink == nullptr) return NoHandoff();
          std::vector<MessageRef> refs;
          for (const auto& p : request->pushes()) {
            if (p.conversation_id().empty() || p.seq() <= 0) {
              return InvalidArgument("a push needs conversation_id and a seq above 0");
            }
            refs.push_back({p.conversation_id(), p.seq()});
          }
          sink->OnPushesUnacked(who.tenant, request->user_id(), request->device_id(),
                                std::move(refs));
          return Status::Ok();
        });
  }

 private:
  static Status NoHandoff() {
    return Unavailable(
        "no offline hand-off runs in this process (push.offline_enabled, or the "
        "storage writer has not started)");
  }

  std::function<DeviceActivitySink*()> sink_;
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
      if (last && !pending_.empty()) {
        // Stopping: one last batch, so a dead push-server cannot hold the
        // gateway's shutdown for long.
        Dropped(pending_.size());
        pending_.clear();
      }
      lock.unlock();
      if (!batch.empty()) Send(batch);
      lock.lock();
      if (last) return;
    }
  }

  void Send(std::vector<Report>& batch) {
    auto instances = registry_->Resolve(kPushServer);
    if (!instances.ok() || instances->empty()) {
      spdlog::warn("push: {} reports not sent: no push-server in discovery ({})", batch.size(),
                   instances.ok() ? "none" : instances.status().ToString());
      return Dropped(batch.size());
    }
    std::set<std::string> failed;  // instances skipped for the rest of this flush
    std::map<std::string, pv::DevicesOnlineRequest> logins;  // by tenant
    for (Report& r : batch) {
      if (r.unacked.empty()) {
        auto* login = logins[r.tenant].add_logins();
        login->set_user_id(r.user_id);
        login->set_device_id(r.device_id);
      } else {
        // One push-server is enough (it reads the messages from the store),
        // always the same one for a user while discovery's list stays the
        // same, so its coalescing state sees all of that user's reports.
        size_t pick = std::hash<std::string>{}(r.tenant + '\n' + r.user_id) % instances->size();
        const auto& instance = (*instances)[pick];
        SendUnacked(instance, r, failed);
      }
    }
    // Every push-server: each may hold coalesced conversations of the device.
    for (const auto& instance : *instances) {
      for (const auto& [tenant, request] : logins) SendLogins(instance, tenant, request, failed);
    }
  }

  void SendLogins(const ServiceInstance& instance, const std::string& tenant,
                  const pv::DevicesOnlineRequest& request, std::set<std::string>& failed) {
    if (failed.count(instance.id)) return Dropped(static_cast<size_t>(request.logins_size()));
    auto* stub = StubFor(instance);
    Status st = caller_.Call("DevicesOnline", {tenant, "signaling-gateway", "", ""},
                             rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
                               pv::DevicesOnlineResponse response;
                               return stub->DevicesOnline(&context, request, &response);
                             });
    if (!st.ok()) {
      spdlog::warn("push: logins not reported to push-server {}: {}", instance.id, st.ToString());
      Dropped(static_cast<size_t>(request.logins_size()));
      failed.insert(instance.id);
    }
  }

  void SendUnacked(const ServiceInstance& instance, const Report& r,
                   std::set<std::string>& failed) {
    if (failed.count(instance.id)) return Dropped(1);
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
      failed.insert(instance.id);
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
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

RpcServicePtr NewPushSchedulerGrpcService(std::function<DeviceActivitySink*()> sink) {
  return RpcServicePtr(new PushSchedulerGrpcService(std::move(sink)));
}

std::unique_ptr<DeviceActivitySink> NewPushSchedulerClient(std::shared_ptr<Registry> registry,
                                                           const RpcOptions& rpc,
                                                           PushSchedulerClientOptions options,
                                                           Metrics* metrics) {
  return std::make_unique<PushSchedulerClient>(std::move(registry), rpc, options, metrics);
}

}  // namespace flare
