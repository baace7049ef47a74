// The Kafka BusProducer: one idempotent librdkafka producer and a thread
// that serves its delivery reports (each calls the record's `done`).
#include <atomic>
#include <thread>

#include "adapters/kafka/kafka_clients.h"

namespace flare::kafka {
namespace {

using DoneFn = std::function<void(Status)>;

Status DeliveryStatus(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Unavailable(std::string("kafka delivery failed: ") + rd_kafka_err2str(err));
}

// Runs on whichever thread serves the producer's queue (the report thread
// or a Flush caller); the record's DoneFn was allocated by Publish.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* done = static_cast<DoneFn*>(message->_private);
  if (done == nullptr) return;
  if (*done) (*done)(DeliveryStatus(message->err));
  delete done;
}

class KafkaProducer final : public BusProducer {
 public:
  explicit KafkaProducer(rd_kafka_t* rk) : rk_(rk), reports_([this] { ServeReports(); }) {}

  ~KafkaProducer() override {
    // Records still queued fail with a purge error, so every `done` runs once.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 5'000);
    stop_ = true;
    reports_.join();
    rd_kafka_destroy(rk_);
  }

  Status Publish(const std::string& topic, std::string_view key, std::string_view value,
                 std::function<void(Status)> done) override {
    auto* owned = new DoneFn(std::move(done));
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(owned), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    delete owned;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Unavailable("kafka producer queue full (queue.buffering.max.messages)");
    }
    if (rd_kafka_fatal_error(rk_, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Internal(std::string("kafka producer failed fatally: ") + rd_kafka_err2str(err));
    }
    return InvalidArgument(std::string("kafka produce: ") + rd_kafka_err2str(err));
  }

  Status Flush(int timeout_ms) override {
    if (rd_kafka_flush(rk_, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    return Unavailable("kafka flush: " + std::to_string(rd_kafka_outq_len(rk_)) +
                       " records still unacknowledged after " + std::to_string(timeout_ms) + " ms");
  }

 private:
  void ServeReports() {
    while (!stop_) rd_kafka_poll(rk_, 100);
  }

  rd_kafka_t* rk_;
  std::atomic<bool> stop_{false};
  std::thread reports_;
};

}  // namespace

Result<std::unique_ptr<BusProducer>> NewProducer(const KafkaOptions& options) {
  auto conf =
      MakeConf(options, {
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            {"linger.ms", std::to_string(options.linger_ms)},
                            {"message.timeout.ms", std::to_string(options.message_timeout_ms)},
                        });
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &OnDelivery);
  auto rk = NewClient(RD_KAFKA_PRODUCER, *conf);
  if (!rk.ok()) return rk.status();
  return std::unique_ptr<BusProducer>(std::make_unique<KafkaProducer>(*rk));
}

}  // namespace flare::kafka
