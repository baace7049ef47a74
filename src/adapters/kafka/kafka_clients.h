// Internals of the Kafka adapter: building librdkafka configurations and
// the producer and consumer objects behind the port.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "adapters/kafka/kafka_event_bus.h"

namespace flare::kafka {

// A configuration with bootstrap.servers and options.extra applied, then
// `properties`; InvalidArgument naming the property librdkafka rejected.
Result<rd_kafka_conf_t*> MakeConf(const KafkaOptions& options,
                                  const std::map<std::string, std::string>& properties);

// rd_kafka_new that takes ownership of `conf` on every path.
Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf);

Result<std::unique_ptr<BusProducer>> NewProducer(const KafkaOptions& options);
Result<std::unique_ptr<BusConsumer>> NewConsumer(const KafkaOptions& options,
                                                 const std::string& group_id,
                                                 const ConsumerOptions& consumer_options);

}  // namespace flare::kafka
