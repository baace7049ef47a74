#include "adapters/kafka/kafka_event_bus.h"

#include "adapters/kafka/kafka_clients.h"

namespace flare {
namespace kafka {

Result<rd_kafka_conf_t*> MakeConf(const KafkaOptions& options,
                                  const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  auto set = [&](const std::string& name, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      return InvalidArgument("kafka property " + name + "=" + value + ": " + error);
    }
    return Status::Ok();
  };
  Status st = set("bootstrap.servers", options.brokers);
  for (const auto& [name, value] : options.extra) {
    if (st.ok()) st = set(name, value);
  }
  for (const auto& [name, value] : properties) {
    if (st.ok()) st = set(name, value);
  }
  if (!st.ok()) {
    rd_kafka_conf_destroy(conf);
    return st;
  }
  return conf;
}

Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof error);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only on success
    return InvalidArgument(std::string("kafka client: ") + error);
  }
  return rk;
}

}  // namespace kafka

KafkaEventBus::KafkaEventBus(KafkaOptions options, rd_kafka_t* admin)
    : options_(std::move(options)), admin_(admin) {}

KafkaEventBus::~KafkaEventBus() { rd_kafka_destroy(admin_); }

Result<std::unique_ptr<KafkaEventBus>> KafkaEventBus::Open(const KafkaOptions& options) {
  if (options.brokers.empty()) return InvalidArgument("bus.kafka.brokers is empty");
  auto conf = kafka::MakeConf(options, {});
  if (!conf.ok()) return conf.status();
  auto admin = kafka::NewClient(RD_KAFKA_PRODUCER, *conf);
  if (!admin.ok()) return admin.status();
  // A metadata round trip proves some broker of the list answers; librdkafka
  // would otherwise retry an unreachable list forever in the background.
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(*admin, 0, nullptr, &metadata, options.startup_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(*admin);
    return Unavailable("kafka brokers '" + options.brokers + "': no metadata within " +
                       std::to_string(options.startup_timeout_ms) +
                       " ms: " + rd_kafka_err2str(err));
  }
  rd_kafka_metadata_destroy(metadata);
  return std::unique_ptr<KafkaEventBus>(new KafkaEventBus(options, *admin));
}

Result<std::unique_ptr<BusProducer>> KafkaEventBus::CreateProducer() {
  return kafka::NewProducer(options_);
}

Result<std::unique_ptr<BusConsumer>> KafkaEventBus::CreateConsumer(const std::string& group_id,
                                                                   const ConsumerOptions& options) {
  if (group_id.empty()) return InvalidArgument("event bus: empty consumer group id");
  return kafka::NewConsumer(options_, group_id, options);
}

// Whether the cluster's metadata lists `name` (all topics are asked for:
// asking for one by name can make a broker auto-create it).
Result<bool> KafkaEventBus::TopicExists(const std::string& name) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(admin_, 1, nullptr, &metadata, options_.startup_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("kafka metadata: " + std::string(rd_kafka_err2str(err)));
  }
  bool found = false;
  for (int i = 0; i < metadata->topic_cnt && !found; ++i) {
    found =
        metadata->topics[i].topic == name && metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  rd_kafka_metadata_destroy(metadata);
  return found;
}

Status KafkaEventBus::CreateTopic(const std::string& name, int32_t partitions) {
  if (name.empty() || partitions < 1) {
    return InvalidArgument("event bus: a topic needs a name and at least one partition");
  }
  // Checked first: a topic made ahead (the usual way in production) needs
  // no admin rights, and some clusters do not take CreateTopics at all.
  auto exists = TopicExists(name);
  if (!exists.ok()) return exists.status();
  if (*exists) return {Code::kAlreadyExists, "kafka topic '" + name + "' exists"};
  char error[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(
      name.c_str(), partitions, options_.replication_factor, error, sizeof error);
  if (topic == nullptr) return InvalidArgument(std::string("kafka topic: ") + error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin_);
  rd_kafka_AdminOptions_t* admin_options =
      rd_kafka_AdminOptions_new(admin_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(admin_options, options_.startup_timeout_ms, error,
                                            sizeof error);
  rd_kafka_CreateTopics(admin_, &topic, 1, admin_options, queue);
  // The admin request has its own timeout; this wait only bounds a lost reply.
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, options_.startup_timeout_ms + 5'000);
  Status result = Unavailable("kafka: no answer to CreateTopics for '" + name + "'");
  if (event != nullptr) {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        res ? rd_kafka_CreateTopics_result_topics(res, &count) : nullptr;
    rd_kafka_resp_err_t err = rd_kafka_event_error(event);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && count == 1)
      err = rd_kafka_topic_result_error(topics[0]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = Status::Ok();
    } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      result = {Code::kAlreadyExists, "kafka topic '" + name + "' exists"};
    } else {
      result = Unavailable("kafka CreateTopics '" + name + "': " + rd_kafka_err2str(err));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_AdminOptions_destroy(admin_options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  return result;
}

}  // namespace flare
