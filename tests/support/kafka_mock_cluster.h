// librdkafka's mock cluster (no Kafka broker is installable here): brokers
// that speak the Kafka protocol over TCP on loopback, inside this process,
// for as long as this object lives.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace flare::testing {

class KafkaMockCluster {
 public:
  explicit KafkaMockCluster(int brokers = 3);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  bool ok() const { return cluster_ != nullptr; }
  std::string bootstraps() const;
  // rd_kafka_mock_topic_create (replication factor = broker count), with
  // partition p led by broker (p % brokers) + 1.
  Status CreateTopic(const std::string& name, int32_t partitions);
  // The topics `flare serve` with bus.backend = "kafka" looks for at start
  // (the mock does not answer CreateTopics): the ingest stream, with
  // `ingest_partitions`, the gateway inbox, and push.worker's task and
  // dead-letter topics.
  Status CreateServeTopics(int32_t ingest_partitions);
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);

 private:
  int brokers_;
  rd_kafka_t* owner_ = nullptr;  // the mock lives as long as this handle
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace flare::testing
