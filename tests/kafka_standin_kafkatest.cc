// flare-kafka-standin as a child process (a development stand-in for
// Kafka: librdkafka's mock cluster in its own process): it announces its
// bootstrap list in exactly one stdout line, the project's Kafka EventBus
// publishes to and consumes from the topics it created, and SIGTERM stops
// it with exit code 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "ports/event_bus.h"
#include "support/child_process.h"

namespace flare {
namespace {

using testing::ChildProcess;

constexpr auto kStartDeadline = std::chrono::seconds(10);

class NoteAssignments : public BusConsumerListener {
 public:
  void OnAssigned(const std::vector<int32_t>&) override {}
  void OnRevoked(const std::vector<int32_t>&) override {}
};

// Everything the child still writes to stdout until it closes it.
std::string RestOfStdout(ChildProcess& child) {
  std::string rest;
  while (auto line = child.ReadLine(std::chrono::seconds(5))) rest += *line + "\n";
  return rest;
}

TEST(KafkaStandin, ServesTheEventBusUntilSigtermThenExitsZero) {
  ChildProcess standin;
  ASSERT_TRUE(standin.Start({FLARE_KAFKA_STANDIN, "--brokers", "2", "--topic", "standin.records:4",
                             "--topic", "standin.other:1"}));
  auto line = standin.ReadLine(kStartDeadline);
  ASSERT_TRUE(line.has_value()) << "no bootstrap line";
  ASSERT_EQ(line->rfind("bootstrap=", 0), 0u) << *line;
  std::string bootstrap = line->substr(10);
  EXPECT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 1) << bootstrap;  // 2 brokers

  Config config;
  config.bus_backend = "kafka";
  ASSERT_TRUE(SetConfigValue(config, "bus.kafka.brokers", bootstrap).ok());
  config.bus_kafka_session_timeout_ms = 3'000;
  config.bus_kafka_heartbeat_interval_ms = 300;
  config.bus_kafka_fetch_wait_max_ms = 20;
  auto bus = OpenEventBus(config);
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  auto producer = (*bus)->CreateProducer();
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  constexpr int kRecords = 40;
  std::atomic<int> acked{0};
  for (int i = 0; i < kRecords; ++i) {
    std::string key = "conversation-" + std::to_string(i % 5);
    ASSERT_TRUE((*producer)
                    ->Publish("standin.records", key, std::to_string(i),
                              [&](Status st) { acked += st.ok() ? 1 : 0; })
                    .ok());
  }
  ASSERT_TRUE((*producer)->Flush(10'000).ok());
  EXPECT_EQ(acked.load(), kRecords);

  NoteAssignments listener;
  auto consumer = (*bus)->CreateConsumer("standin-test-group");
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  ASSERT_TRUE((*consumer)->Subscribe("standin.records", &listener).ok());
  std::map<std::string, std::vector<int>> by_key;
  std::set<int32_t> partitions;
  int received = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (received < kRecords && std::chrono::steady_clock::now() < deadline) {
    auto records = (*consumer)->Poll(100, 200);
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    for (const auto& r : *records) {
      by_key[r.key].push_back(std::stoi(r.value));
      partitions.insert(r.partition);
      ++received;
    }
  }
  ASSERT_EQ(received, kRecords);
  EXPECT_EQ(by_key.size(), 5u);
  for (const auto& [key, values] : by_key) {
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << key;  // per-key order
  }
  // The topic has the 4 partitions asked for, and the 5 keys use several.
  EXPECT_GE(partitions.size(), 2u);
  EXPECT_LT(*partitions.rbegin(), 4);
  EXPECT_TRUE((*consumer)->Close().ok());
  consumer->reset();
  producer->reset();
  bus->reset();

  ASSERT_TRUE(standin.Signal(SIGTERM));
  EXPECT_EQ(standin.Wait(std::chrono::seconds(15)), std::optional<int>(0));
  EXPECT_EQ(RestOfStdout(standin), "");  // the bootstrap line was the only one
}

TEST(KafkaStandin, HelpSaysItIsAStandInNotAKafka) {
  ChildProcess help;
  ASSERT_TRUE(help.Start({FLARE_KAFKA_STANDIN, "--help"}));
  std::string text = RestOfStdout(help);
  EXPECT_EQ(help.Wait(std::chrono::seconds(5)), std::optional<int>(0));
  EXPECT_NE(text.find("STAND-IN for Kafka, not a Kafka"), std::string::npos) << text;
  EXPECT_NE(text.find("--topic"), std::string::npos) << text;
}

TEST(KafkaStandin, AMalformedTopicIsRefusedBeforeStarting) {
  ChildProcess standin;
  ASSERT_TRUE(standin.Start({FLARE_KAFKA_STANDIN, "--topic", "flare.ingest"}));
  EXPECT_EQ(RestOfStdout(standin), "");  // no bootstrap line
  EXPECT_EQ(standin.Wait(std::chrono::seconds(5)), std::optional<int>(2));
}

}  // namespace
}  // namespace flare
