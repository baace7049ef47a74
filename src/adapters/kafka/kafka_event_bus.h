// Kafka EventBus on librdkafka (C API). Producers are idempotent
// (enable.idempotence=true, acks=all), keyed by librdkafka's default
// partitioner (CRC32 of the key), and report each record's delivery.
// Consumers join a group with enable.auto.commit=false and
// enable.auto.offset.store=false, commit only through Commit(), and see
// (eager) rebalances through a callback that tells the listener and then
// assigns or unassigns. A new group starts at the earliest offset.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ports/event_bus.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace flare {

struct KafkaOptions {
  std::string brokers;  // bootstrap list: host:port[,host:port...]
  int startup_timeout_ms = 10'000;
  int session_timeout_ms = 45'000;
  // How long a broker may hold a fetch that found nothing new: bounds the
  // latency a message waits on a broker that does not answer a waiting
  // fetch as soon as data arrives.
  int fetch_wait_max_ms = 50;
  // How long a producer gathers records into one request (linger.ms).
  int linger_ms = 5;
  int heartbeat_interval_ms = 3'000;
  std::string assignment_strategy = "range";  // range | roundrobin (eager protocols)
  int message_timeout_ms = 300'000;           // a record not acked by then fails
  int replication_factor = 3;                 // of topics made by CreateTopic
  // Further librdkafka properties for every client (tests shorten timers).
  std::map<std::string, std::string> extra;
};

// The options bus.kafka.* in `config` describe.
KafkaOptions KafkaOptionsFrom(const Config& config);

class KafkaEventBus final : public EventBus {
 public:
  // kUnavailable naming `options.brokers` if no broker answers a metadata
  // request within startup_timeout_ms.
  static Result<std::unique_ptr<KafkaEventBus>> Open(const KafkaOptions& options);
  ~KafkaEventBus() override;

  Result<std::unique_ptr<BusProducer>> CreateProducer() override;
  using EventBus::CreateConsumer;
  Result<std::unique_ptr<BusConsumer>> CreateConsumer(const std::string& group_id,
                                                      const ConsumerOptions& options) override;
  Status CreateTopic(const std::string& name, int32_t partitions) override;

 private:
  KafkaEventBus(KafkaOptions options, rd_kafka_t* admin);
  Result<bool> TopicExists(const std::string& name);
  KafkaOptions options_;
  rd_kafka_t* admin_;  // metadata and topic creation
};

}  // namespace flare
