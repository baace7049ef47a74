// The cluster backends an end-to-end test runs `flare serve` on: a Kafka
// mock cluster with the topics flare serve looks for, a redis-server of
// its own, and a fresh database on the test process's PostgreSQL.
#pragma once

#include <map>
#include <string>

#include "support/kafka_mock_cluster.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"

namespace flare::testing {

class ClusterBackends {
 public:
  explicit ClusterBackends(const std::string& database) : kafka_(3) {
    if (!kafka_.ok()) {
      error_ = "no Kafka mock cluster";
    } else if (Status topics = kafka_.CreateServeTopics(4); !topics.ok()) {
      error_ = topics.ToString();
    } else if (!redis_.running()) {
      error_ = "redis-server did not start";
    } else if (PostgresServer* pg = SharedPostgres(&error_); pg != nullptr) {
      auto dsn = pg->CreateDatabase(database);
      if (dsn.ok())
        dsn_ = *dsn;
      else
        error_ = dsn.status().ToString();
    }
  }
  // Empty when every backend is up.
  const std::string& error() const { return error_; }
  KafkaMockCluster& kafka() { return kafka_; }
  RedisServer& redis() { return redis_; }
  // Restarts the PostgreSQL server as a crash would (its other databases,
  // of other tests in this process, live through it too).
  Status RestartPostgres() {
    PostgresServer* pg = SharedPostgres(nullptr);
    return pg != nullptr ? pg->Restart() : Unavailable("no PostgreSQL server");
  }

  // The environment of a `flare serve` on these backends (short Kafka
  // group timeouts, so a test's rebalances take seconds).
  std::map<std::string, std::string> ServeEnv() const {
    return {{"FLARE_STORAGE_BACKEND", "postgres"},
            {"FLARE_STORAGE_POSTGRES_DSN", dsn_},
            {"FLARE_PRESENCE_BACKEND", "redis"},
            {"FLARE_PRESENCE_REDIS_URL", redis_.url()},
            {"FLARE_BUS_BACKEND", "kafka"},
            {"FLARE_BUS_KAFKA_BROKERS", kafka_.bootstraps()},
            {"FLARE_BUS_KAFKA_SESSION_TIMEOUT_MS", "3000"},
            {"FLARE_BUS_KAFKA_HEARTBEAT_INTERVAL_MS", "300"}};
  }

 private:
  KafkaMockCluster kafka_;
  RedisServer redis_;
  std::string dsn_;
  std::string error_;
};

}  // namespace flare::testing
