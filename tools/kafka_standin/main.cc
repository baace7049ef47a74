// flare-kafka-standin: a development stand-in for Kafka, not a Kafka. No
// Kafka broker is installable here; this process owns librdkafka's mock
// cluster (brokers that speak the Kafka protocol over loopback TCP, in
// memory, inside this process), creates the topics named on the command
// line, prints one line "bootstrap=<host:port,...>" on stdout and serves
// until SIGINT or SIGTERM, then exits 0. Everything is lost when it exits.
// What the mock does and does not do: docs/architecture.md ("Event bus").
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

namespace {

constexpr const char* kWhat =
    "flare-kafka-standin: a DEVELOPMENT STAND-IN for Kafka, not a Kafka. It runs librdkafka's "
    "in-memory mock cluster (no persistence, no real replication, no security, a subset of the "
    "protocol) for tests and local clusters only.";

struct TopicSpec {
  std::string name;
  int partitions = 0;
};

// "name:partitions" with 1..10000 partitions.
bool ParseTopic(const std::string& text, TopicSpec& out) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out.partitions);
  out.name = text.substr(0, colon);
  return ec == std::errc() && ptr == end && out.partitions >= 1 && out.partitions <= 10'000;
}

// Creates the topic with every broker as a replica and partition p led by
// broker (p % brokers) + 1, so leadership is spread over the brokers.
bool CreateTopic(rd_kafka_mock_cluster_t* cluster, const TopicSpec& topic, int brokers) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster, topic.name.c_str(), topic.partitions, brokers);
  for (int p = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && p < topic.partitions; ++p) {
    err = rd_kafka_mock_partition_set_leader(cluster, topic.name.c_str(), p, (p % brokers) + 1);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "flare-kafka-standin: topic %s: %s\n", topic.name.c_str(),
                 rd_kafka_err2str(err));
  }
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after
// (librdkafka's), so that sigwait in main receives them.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kWhat};
  int brokers = 3;
  std::vector<std::string> topic_args;
  app.add_option("--brokers", brokers, "mock brokers to start")->check(CLI::Range(1, 32));
  app.add_option("--topic", topic_args, "topic to create, NAME:PARTITIONS (repeatable)");
  CLI11_PARSE(app, argc, argv);
  std::vector<TopicSpec> topics;
  for (const auto& arg : topic_args) {
    TopicSpec topic;
    if (!ParseTopic(arg, topic)) {
      std::fprintf(stderr, "flare-kafka-standin: --topic %s: expected NAME:PARTITIONS (1..10000)\n",
                   arg.c_str());
      return 2;
    }
    topics.push_back(topic);
  }

  sigset_t stop = BlockStopSignals();
  std::fprintf(stderr, "%s\n", kWhat);
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The owning handle has no bootstrap.servers of its own; keep its notice
  // about that (level 5) out of the log, warnings and errors stay.
  rd_kafka_conf_set(conf, "log_level", "4", error, sizeof error);
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (owner == nullptr) {
    rd_kafka_conf_destroy(conf);
    std::fprintf(stderr, "flare-kafka-standin: %s\n", error);
    return 1;
  }
  // The mock cluster lives as long as `owner`.
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, brokers);
  bool ok = cluster != nullptr;
  for (size_t i = 0; ok && i < topics.size(); ++i) ok = CreateTopic(cluster, topics[i], brokers);
  if (ok) {
    std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
    std::fprintf(stderr,
                 "flare-kafka-standin: %d mock brokers at %s, %zu topics; stop with "
                 "SIGINT or SIGTERM\n",
                 brokers, bootstrap.c_str(), topics.size());
    std::printf("bootstrap=%s\n", bootstrap.c_str());
    std::fflush(stdout);
    int signal = 0;
    sigwait(&stop, &signal);
    std::fprintf(stderr, "flare-kafka-standin: signal %d, stopping\n", signal);
  }
  if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return ok ? 0 : 1;
}
