#include "app/push_wiring.h"

#include "ports/store_factory.h"
#include "rpc/push/push_grpc.h"
#include "rpc/push/push_worker_grpc.h"

namespace flare {
namespace {

constexpr int64_t kInProcessDrainMs = 2'000;

}  // namespace

PushWorkerOptions PushWorkerOptionsFrom(const Config& config) {
  PushWorkerOptions o;
  o.max_attempts = static_cast<int32_t>(config.push_worker_max_attempts);
  o.initial_backoff_ms = config.push_worker_initial_backoff_ms;
  o.max_backoff_ms = config.push_worker_max_backoff_ms;
  o.max_in_flight = static_cast<size_t>(config.push_worker_max_in_flight);
  o.send_timeout_ms = config.push_worker_send_timeout_ms;
  o.max_queued = static_cast<size_t>(config.push_worker_max_queued);
  o.dead_letters_kept = static_cast<size_t>(config.push_worker_dead_letters_kept);
  o.dlq_topic = config.push_worker_dlq_topic;
  return o;
}

void PushWorkerStack::Stop() {
  if (consumer_) consumer_->Stop(drain_ms_);
  if (worker_) worker_->Stop();
  if (providers_) providers_->Close();
}

Result<std::unique_ptr<PushWorkerStack>> StartPushWorker(const Config& config, EventBus& bus,
                                                         DeviceStore* devices, const Clock& clock,
                                                         Metrics* metrics) {
  auto partitions = static_cast<int32_t>(config.bus_ingest_partitions);
  FLARE_RETURN_IF_ERROR(CreateTopicIfMissing(bus, config.push_worker_tasks_topic, partitions));
  FLARE_RETURN_IF_ERROR(CreateTopicIfMissing(bus, config.push_worker_dlq_topic, partitions));
  auto stack = std::make_unique<PushWorkerStack>();
  auto providers = OpenPushProviders(config, clock);
  if (!providers.ok()) return providers.status();
  stack->providers_ = std::move(providers).value();
  auto producer = bus.CreateProducer();
  if (!producer.ok()) return producer.status();
  stack->dlq_producer_ = std::move(producer).value();
  stack->worker_ =
      std::make_unique<PushWorker>(*stack->providers_, devices, stack->dlq_producer_.get(), clock,
                                   stack->random_, metrics, PushWorkerOptionsFrom(config));
  stack->worker_->Start();
  // The in-process bus keeps nothing across a restart: its tasks go to the
  // worker (sent, or dead-lettered and counted) rather than vanish.
  if (config.bus_backend == "inprocess") stack->drain_ms_ = kInProcessDrainMs;
  stack->consumer_ = std::make_unique<PushTaskConsumer>(
      bus, *stack->worker_, config.push_worker_tasks_topic, config.push_worker_group);
  FLARE_RETURN_IF_ERROR(stack->consumer_->Start());
  return stack;
}

namespace {

// push-worker's own figures as push-proxy's statistics (one process).
class LocalPushStats final : public PushStatsSource {
 public:
  explicit LocalPushStats(PushWorker& worker) : worker_(worker) {}
  Result<::push::v1::PushStats> StatsOf(const std::string& tenant) override {
    return ToProto(worker_.StatsOf(tenant));
  }

 private:
  PushWorker& worker_;
};

}  // namespace

std::unique_ptr<PushStatsSource> NewLocalPushStats(PushWorker& worker) {
  return std::make_unique<LocalPushStats>(worker);
}

PushApiStack::~PushApiStack() { Stop(); }

Result<std::unique_ptr<PushApiStack>> StartPushApi(const Config& config, DeviceStore& devices,
                                                   BusProducer& producer,
                                                   std::unique_ptr<PushStatsSource> stats,
                                                   const Clock& clock, const std::string& token) {
  auto schedule = OpenPushScheduleStore(config);
  if (!schedule.ok()) return schedule.status();
  auto stack = std::unique_ptr<PushApiStack>(new PushApiStack());
  stack->schedule_ = std::move(schedule).value();
  stack->sink_ = std::make_unique<BusPushTaskSink>(producer, config.push_worker_tasks_topic);
  stack->stats_ = std::move(stats);
  stack->api_ = std::make_unique<PushApi>(devices, *stack->schedule_, *stack->sink_, clock,
                                          stack->stats_.get());
  stack->service_ = NewPushGrpcService(*stack->api_, token);
  stack->loop_ =
      std::make_unique<PushScheduleLoop>(*stack->api_, config.push_proxy_schedule_interval_ms);
  return stack;
}

}  // namespace flare
