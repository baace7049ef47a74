#include "rpc/push/push_worker_grpc.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "push/v1/push_service.grpc.pb.h"
#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"

namespace flare {

namespace pv = ::push::v1;

pv::PushStats ToProto(const PushStats& s) {
  pv::PushStats out;
  out.set_sent(s.sent);
  out.set_failed(s.failed);
  out.set_retried(s.retried);
  out.set_dead_lettered(s.dead_lettered);
  out.set_tokens_disabled(s.token_disabled);
  return out;
}

namespace {

class PushWorkerGrpcService final : public pv::PushWorkerService::Service {
 public:
  explicit PushWorkerGrpcService(PushWorker& worker) : worker_(worker) {}

  grpc::Status Stats(grpc::ServerContext* context, const pv::StatsRequest*,
                     pv::PushStats* response) override {
    return rpc::ServeUnary(*context, "push.v1.PushWorkerService/Stats", [&](const Principal& who) {
      *response = ToProto(worker_.StatsOf(who.tenant));
      return Status::Ok();
    });
  }

  grpc::Status DeadLetters(grpc::ServerContext* context, const pv::DeadLettersRequest* request,
                           pv::DeadLettersResponse* response) override {
    return rpc::ServeUnary(
        *context, "push.v1.PushWorkerService/DeadLetters", [&](const Principal& who) {
          std::vector<pv::PushDeadLetter> mine;
          for (auto& letter : worker_.RecentDeadLetters()) {
            if (letter.task().tenant() == who.tenant) {
              mine.push_back(std::move(letter));
            }
          }
          size_t limit = request->limit() > 0 ? static_cast<size_t>(request->limit()) : mine.size();
          size_t first = mine.size() > limit ? mine.size() - limit : 0;
          for (size_t i = first; i < mine.size(); ++i) {
            response->add_letters()->Swap(&mine[i]);
          }
          return Status::Ok();
        });
  }

 private:
  PushWorker& worker_;
};

void Add(pv::PushStats& sum, const pv::PushStats& s) {
  sum.set_sent(sum.sent() + s.sent());
  sum.set_failed(sum.failed() + s.failed());
  sum.set_retried(sum.retried() + s.retried());
  sum.set_dead_lettered(sum.dead_lettered() + s.dead_lettered());
  sum.set_tokens_disabled(sum.tokens_disabled() + s.tokens_disabled());
}

class PushWorkerStatsClient final : public PushStatsSource {
 public:
  PushWorkerStatsClient(std::shared_ptr<Registry> registry, const RpcOptions& options)
      : registry_(std::move(registry)), caller_("push.v1.PushWorkerService", options) {}

  Result<pv::PushStats> StatsOf(const std::string& tenant) override {
    auto instances = registry_->Resolve("push-worker");
    if (!instances.ok()) return instances.status();
    if (instances->empty()) return Unavailable("no push-worker instance in discovery");
    pv::PushStats sum;
    size_t answered = 0;
    Status last;
    for (const auto& instance : *instances) {
      auto stub = StubFor(instance.address + ":" + std::to_string(instance.port));
      pv::PushStats one;
      // Principal: the tenant asked about; the caller is push-proxy.
      Status st = caller_.Call("Stats", {tenant, "push-proxy", "", ""},
                               rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
                                 return stub->Stats(&context, pv::StatsRequest(), &one);
                               });
      if (!st.ok()) {
        spdlog::warn("push-worker {} statistics: {}", instance.id, st.ToString());
        last = st;
        continue;
      }
      Add(sum, one);
      ++answered;
    }
    if (answered == 0) return last;
    return sum;
  }

 private:
  pv::PushWorkerService::Stub* StubFor(const std::string& target) {
    std::lock_guard lock(mu_);
    auto& stub = stubs_[target];
    if (!stub) stub = pv::PushWorkerService::NewStub(OpenRpcChannel(target));
    return stub.get();
  }

  std::shared_ptr<Registry> registry_;
  rpc::RpcCaller caller_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<pv::PushWorkerService::Stub>> stubs_;
};

}  // namespace

RpcServicePtr NewPushWorkerGrpcService(PushWorker& worker) {
  return RpcServicePtr(new PushWorkerGrpcService(worker));
}

std::unique_ptr<PushStatsSource> NewPushWorkerStatsClient(std::shared_ptr<Registry> registry,
                                                          const RpcOptions& options) {
  return std::make_unique<PushWorkerStatsClient>(std::move(registry), options);
}

}  // namespace flare
