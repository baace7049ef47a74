// Event-bus backends registered by name; `bus.backend` picks one.
#include <functional>
#include <map>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/kafka/kafka_event_bus.h"
#include "ports/event_bus.h"

namespace flare {

KafkaOptions KafkaOptionsFrom(const Config& c) {
  KafkaOptions options;
  options.brokers = c.bus_kafka_brokers;
  options.startup_timeout_ms = static_cast<int>(c.bus_kafka_startup_timeout_ms);
  options.session_timeout_ms = static_cast<int>(c.bus_kafka_session_timeout_ms);
  options.fetch_wait_max_ms = static_cast<int>(c.bus_kafka_fetch_wait_max_ms);
  options.linger_ms = static_cast<int>(c.bus_kafka_linger_ms);
  options.heartbeat_interval_ms = static_cast<int>(c.bus_kafka_heartbeat_interval_ms);
  options.assignment_strategy = c.bus_kafka_assignment_strategy;
  options.message_timeout_ms = static_cast<int>(c.bus_kafka_message_timeout_ms);
  options.replication_factor = static_cast<int>(c.bus_kafka_replication_factor);
  return options;
}

Result<std::shared_ptr<EventBus>> OpenEventBus(const Config& config) {
  using Factory = std::function<Result<std::shared_ptr<EventBus>>(const Config&)>;
  static const std::map<std::string, Factory> registry = {
      {"inprocess",
       [](const Config&) -> Result<std::shared_ptr<EventBus>> {
         return std::shared_ptr<EventBus>(std::make_shared<InProcessEventBus>());
       }},
      {"kafka",
       [](const Config& c) -> Result<std::shared_ptr<EventBus>> {
         auto bus = KafkaEventBus::Open(KafkaOptionsFrom(c));
         if (!bus.ok()) {
           return Status(bus.status().code(),
                         "bus.backend kafka (bus.kafka.brokers): " + bus.status().message());
         }
         return std::shared_ptr<EventBus>(std::move(bus).value());
       }},
  };
  auto it = registry.find(config.bus_backend);
  if (it == registry.end()) {
    return InvalidArgument("bus.backend: unknown backend '" + config.bus_backend + "'");
  }
  return it->second(config);
}

}  // namespace flare
