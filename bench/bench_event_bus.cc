// flare-bench-bus: publish + consume throughput of an EventBus adapter.
// One producer thread publishes --records values of --value-bytes under
// --keys keys while one consumer of a group (already assigned every
// partition) polls and commits each batch; prints the publish rate (until
// Flush returned) and the end-to-end rate (until the last record was
// consumed). --backend kafka runs against librdkafka's mock cluster in this
// process (3 brokers, loopback TCP), not a real Kafka cluster.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/kafka/kafka_event_bus.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Listener : flare::BusConsumerListener {
  size_t owned = 0;
  void OnAssigned(const std::vector<int32_t>& p) override { owned += p.size(); }
  void OnRevoked(const std::vector<int32_t>& p) override { owned -= p.size(); }
};

// Owns a 3-broker mock cluster for the lifetime of the run.
struct MockCluster {
  rd_kafka_t* owner = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  MockCluster() {
    char error[256];
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), error, sizeof error);
    cluster = rd_kafka_mock_cluster_new(owner, 3);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(owner);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "inprocess";
  int records = 200'000, value_bytes = 200, keys = 1'000, partitions = 4;
  CLI::App app{"flare-bench-bus: EventBus publish + consume throughput"};
  app.add_option("--backend", backend, "inprocess | kafka (librdkafka's mock cluster)")
      ->check(CLI::IsMember({"inprocess", "kafka"}));
  app.add_option("--records", records, "records to publish")->check(CLI::PositiveNumber);
  app.add_option("--value-bytes", value_bytes, "bytes per value")->check(CLI::PositiveNumber);
  app.add_option("--keys", keys, "distinct keys")->check(CLI::PositiveNumber);
  app.add_option("--partitions", partitions, "partitions of the topic")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<MockCluster> mock;
  std::shared_ptr<flare::EventBus> bus;
  if (backend == "kafka") {
    mock = std::make_unique<MockCluster>();
    rd_kafka_mock_topic_create(mock->cluster, "bench", partitions, 3);
    flare::KafkaOptions options;
    options.brokers = rd_kafka_mock_cluster_bootstraps(mock->cluster);
    options.session_timeout_ms = 6'000;
    options.heartbeat_interval_ms = 500;
    auto opened = flare::KafkaEventBus::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      return 1;
    }
    bus = std::move(opened).value();
  } else {
    bus = std::make_shared<flare::InProcessEventBus>();
    (void)bus->CreateTopic("bench", partitions);
  }
  Listener listener;  // outlives the consumer
  auto producer = bus->CreateProducer();
  auto consumer = bus->CreateConsumer("bench");
  if (!producer.ok() || !consumer.ok() || !(*consumer)->Subscribe("bench", &listener).ok()) {
    std::fprintf(stderr, "cannot create clients\n");
    return 1;
  }
  while (listener.owned < static_cast<size_t>(partitions)) (void)(*consumer)->Poll(1, 100);

  std::string value(value_bytes, 'x');
  std::atomic<int> failed{0};
  auto start = Clock::now();
  Clock::time_point published;
  std::thread publisher([&] {
    for (int i = 0; i < records; ++i) {
      std::string key = "conv" + std::to_string(i % keys);
      while (true) {
        auto st = (*producer)->Publish("bench", key, value, [&](flare::Status s) {
          if (!s.ok()) ++failed;
        });
        if (st.ok()) break;
        if (st.code() != flare::Code::kUnavailable) return;  // queue full: retry
        (void)(*producer)->Flush(100);
      }
    }
    (void)(*producer)->Flush(120'000);
    published = Clock::now();
  });
  int consumed = 0;
  auto last_progress = Clock::now();
  while (consumed < records) {
    auto batch = (*consumer)->Poll(10'000, 1'000);
    if (!batch.ok()) break;
    // The mock cluster keeps about 5 MB per partition: records it dropped
    // before they were read never arrive, so give up instead of waiting.
    if (!batch->empty()) last_progress = Clock::now();
    if (Clock::now() - last_progress > std::chrono::seconds(20)) {
      std::fprintf(stderr, "no record for 20 s after %d of %d\n", consumed, records);
      break;
    }
    std::map<int32_t, int64_t> next;
    for (const auto& r : *batch) next[r.partition] = r.offset + 1;
    for (auto [p, offset] : next) (void)(*consumer)->Commit(p, offset);
    consumed += static_cast<int>(batch->size());
  }
  auto finished = Clock::now();
  publisher.join();
  auto secs = [&](Clock::time_point t) { return std::chrono::duration<double>(t - start).count(); };
  std::printf(
      "backend=%s records=%d value_bytes=%d keys=%d partitions=%d failed=%d\n"
      "publish (until Flush): %.0f records/s\nend to end (until consumed): %.0f records/s "
      "(%.1f MB/s)\n",
      backend.c_str(), records, value_bytes, keys, partitions, failed.load(),
      records / secs(published), consumed / secs(finished),
      consumed * static_cast<double>(value_bytes) / secs(finished) / 1e6);
  (void)(*consumer)->Close();
  return consumed == records && failed == 0 ? 0 : 1;
}
