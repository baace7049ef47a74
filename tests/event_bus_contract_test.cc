// EventBusContract for the in-process adapter, and what only it promises:
// its key hash, trimming of records every group has committed, and the
// factory's choice by name.
#include "event_bus_contract.h"
#include "adapters/inprocess/inprocess_event_bus.h"

#include <thread>

namespace flare {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Adapters, EventBusContract,
    ::testing::Values(std::make_pair(std::string("inprocess"), EventBusFactory([] {
                                       EventBusUnderTest t;
                                       t.bus = std::make_shared<InProcessEventBus>();
                                       return t;
                                     }))),
    [](const auto& info) { return info.param.first; });

Status PublishOne(BusProducer& producer, const std::string& topic, const std::string& key) {
  return producer.Publish(topic, key, "v", [](Status s) { EXPECT_TRUE(s.ok()); });
}

TEST(InProcessEventBus, KeysMapToPartitionsByFnv1a) {
  // FNV-1a of "" is the offset basis 2166136261; of "a" it is 0xe40c292c.
  EXPECT_EQ(InProcessPartitionFor("", 7), static_cast<int32_t>(2166136261u % 7));
  EXPECT_EQ(InProcessPartitionFor("a", 1000), static_cast<int32_t>(0xe40c292cu % 1000));
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("t", 5).ok());
  RecordingListener listener;  // outlives the consumer
  auto producer = bus.CreateProducer();
  auto consumer = bus.CreateConsumer("g");
  ASSERT_TRUE((*consumer)->Subscribe("t", &listener).ok());
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(PublishOne(**producer, "t", "key" + std::to_string(i)).ok());
  auto records = (*consumer)->Poll(100, 0);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 50u);
  for (const auto& r : *records) EXPECT_EQ(r.partition, InProcessPartitionFor(r.key, 5));
}

TEST(InProcessEventBus, DropsRecordsEveryGroupHasCommitted) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("t", 1).ok());
  RecordingListener fast_listener, slow_listener;  // outlive the consumers
  auto producer = bus.CreateProducer();
  auto fast = bus.CreateConsumer("fast");
  auto slow = bus.CreateConsumer("slow");
  ASSERT_TRUE((*fast)->Subscribe("t", &fast_listener).ok());
  ASSERT_TRUE((*slow)->Subscribe("t", &slow_listener).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(PublishOne(**producer, "t", "k").ok());
  EXPECT_EQ(bus.RetainedRecords("t"), 10u);
  ASSERT_EQ((*fast)->Poll(100, 0)->size(), 10u);
  ASSERT_TRUE((*fast)->Commit(0, 10).ok());
  EXPECT_EQ(bus.RetainedRecords("t"), 10u) << "the slow group still needs them";
  ASSERT_EQ((*slow)->Poll(4, 0)->size(), 4u);
  ASSERT_TRUE((*slow)->Commit(0, 4).ok());
  EXPECT_EQ(bus.RetainedRecords("t"), 6u);
  EXPECT_EQ((*slow)->Commit(0, 11).code(), Code::kInvalidArgument);
  auto rest = (*slow)->Poll(100, 0);
  ASSERT_EQ(rest->size(), 6u);
  EXPECT_EQ(rest->front().offset, 4);
}

TEST(InProcessEventBus, UnknownTopicsAndDuplicateTopicsAreErrors) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("t", 2).ok());
  EXPECT_EQ(bus.CreateTopic("t", 2).code(), Code::kAlreadyExists);
  EXPECT_EQ(bus.CreateTopic("u", 0).code(), Code::kInvalidArgument);
  auto producer = bus.CreateProducer();
  EXPECT_EQ(PublishOne(**producer, "nope", "k").code(), Code::kNotFound);
  RecordingListener listener;
  auto consumer = bus.CreateConsumer("g");
  EXPECT_EQ((*consumer)->Subscribe("nope", &listener).code(), Code::kNotFound);
  EXPECT_EQ(bus.CreateConsumer("").status().code(), Code::kInvalidArgument);
}

TEST(InProcessEventBus, PollWakesWhenAnotherThreadPublishes) {
  InProcessEventBus bus;
  ASSERT_TRUE(bus.CreateTopic("t", 1).ok());
  RecordingListener listener;  // outlives the consumer
  auto producer = bus.CreateProducer();
  auto consumer = bus.CreateConsumer("g");
  ASSERT_TRUE((*consumer)->Subscribe("t", &listener).ok());
  ASSERT_TRUE((*consumer)->Poll(1, 0)->empty());  // takes the assignment
  std::thread publisher([&] { ASSERT_TRUE(PublishOne(**producer, "t", "k").ok()); });
  // A generous timeout: the poll returns when the record lands, not then.
  auto records = (*consumer)->Poll(10, 60'000);
  publisher.join();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);
}

TEST(EventBusFactory, OpensTheBackendNamedInTheConfig) {
  Config config;
  auto bus = OpenEventBus(config);
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  EXPECT_NE(dynamic_cast<InProcessEventBus*>(bus->get()), nullptr);
  config.bus_backend = "carrier-pigeon";
  EXPECT_EQ(OpenEventBus(config).status().code(), Code::kInvalidArgument);
}

TEST(EventBusConfig, KafkaBrokerListAndTimeoutsAreValidated) {
  Config config;
  EXPECT_TRUE(SetConfigValue(config, "bus.backend", "kafka").ok());
  EXPECT_TRUE(SetConfigValue(config, "bus.kafka.brokers", "k1:9092,10.0.0.2:19092").ok());
  EXPECT_EQ(config.bus_kafka_brokers, "k1:9092,10.0.0.2:19092");
  for (const char* bad : {"", "k1", "k1:", ":9092", "k1:9092,", "k1:70000", "k1:90x"}) {
    Status st = SetConfigValue(config, "bus.kafka.brokers", bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("bus.kafka.brokers"), std::string::npos) << st.message();
  }
  EXPECT_EQ(SetConfigValue(config, "bus.backend", "rabbit").code(), Code::kInvalidArgument);
  EXPECT_EQ(SetConfigValue(config, "bus.kafka.assignment_strategy", "sticky").code(),
            Code::kInvalidArgument);
  auto loaded = LoadConfig("", {{"FLARE_BUS_KAFKA_SESSION_TIMEOUT_MS", "1000"},
                                {"FLARE_BUS_KAFKA_HEARTBEAT_INTERVAL_MS", "1000"}});
  EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("heartbeat"), std::string::npos);
}

}  // namespace
}  // namespace flare
