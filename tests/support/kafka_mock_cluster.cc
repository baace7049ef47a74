#include "support/kafka_mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace flare::testing {

KafkaMockCluster::KafkaMockCluster(int brokers) : brokers_(brokers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (owner_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return;
  }
  cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
}

KafkaMockCluster::~KafkaMockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (owner_ != nullptr) rd_kafka_destroy(owner_);
}

std::string KafkaMockCluster::bootstraps() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

namespace {
Status FromErr(const std::string& what, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Internal(what + ": " + rd_kafka_err2str(err));
}
}  // namespace

Status KafkaMockCluster::CreateTopic(const std::string& name, int32_t partitions) {
  FLARE_RETURN_IF_ERROR(
      FromErr("mock topic " + name,
              rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, brokers_)));
  for (int32_t p = 0; p < partitions; ++p) {
    FLARE_RETURN_IF_ERROR(
        FromErr("mock leader",
                rd_kafka_mock_partition_set_leader(cluster_, name.c_str(), p, (p % brokers_) + 1)));
  }
  return Status::Ok();
}

Status KafkaMockCluster::CreateServeTopics(int32_t ingest_partitions) {
  FLARE_RETURN_IF_ERROR(CreateTopic("flare.ingest", ingest_partitions));
  FLARE_RETURN_IF_ERROR(CreateTopic("flare.im.push.tasks", 8));
  FLARE_RETURN_IF_ERROR(CreateTopic("flare.im.push.dlq", 1));
  return CreateTopic("flare.gateways", 4);
}

Status KafkaMockCluster::SetBrokerDown(int32_t broker_id) {
  return FromErr("mock broker down", rd_kafka_mock_broker_set_down(cluster_, broker_id));
}

Status KafkaMockCluster::SetBrokerUp(int32_t broker_id) {
  return FromErr("mock broker up", rd_kafka_mock_broker_set_up(cluster_, broker_id));
}

}  // namespace flare::testing
