// The deploy/ observability files against the real thing: a real
// `prometheus` scrapes a real `flare serve` (its ingest stream on
// librdkafka's mock cluster, so the consumer lag is the writer's own) with
// the scrape configuration of deploy/prometheus/prometheus.yml, and every
// metric that deploy/prometheus/alerts.yml and the Grafana dashboard refer
// to must be among what it scraped; the alert rules load and evaluate
// without errors.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/frames.h"
#include "support/inbox.h"
#include "support/kafka_mock_cluster.h"
#include "support/prometheus_server.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Inbox;
using testing::PollFor;
using testing::PrometheusServer;
using testing::ReadFile;
using testing::ServerProcess;
using testing::TextTo;

const std::string kDeploy = std::string(FLARE_SOURCE_DIR) + "/deploy";

// Metric names (flare_* and process_*) in a PromQL expression.
void AddMetricNames(const std::string& expr, std::set<std::string>& names) {
  static const std::regex kName(R"(\b(?:flare|process)_[a-z0-9_]+)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it) {
    names.insert(it->str());
  }
}

// The `expr:` blocks of a rules file: the key's line and the lines indented
// deeper than it.
std::set<std::string> MetricsInRules(const std::string& rules) {
  std::set<std::string> names;
  std::istringstream lines(rules);
  size_t expr_indent = std::string::npos;
  for (std::string line; std::getline(lines, line);) {
    size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    if (expr_indent != std::string::npos && indent <= expr_indent) expr_indent = std::string::npos;
    if (line.compare(indent, 5, "expr:") == 0) expr_indent = indent;
    if (expr_indent != std::string::npos) AddMetricNames(line, names);
  }
  return names;
}

// Every "expr" in the dashboard, panels and variables alike.
void MetricsInDashboard(const nlohmann::json& node, std::set<std::string>& names) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "definition") && value.is_string()) {
        AddMetricNames(value.get<std::string>(), names);
      } else {
        MetricsInDashboard(value, names);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) MetricsInDashboard(item, names);
  }
}

// deploy/prometheus/prometheus.yml with the test's target and a 1 s
// interval instead of the documented defaults (which must still be there).
std::string TestScrapeConfig(uint16_t http_port) {
  std::string config = ReadFile(kDeploy + "/prometheus/prometheus.yml");
  auto replace = [&config](const std::string& from, const std::string& to) {
    size_t at = config.find(from);
    EXPECT_NE(at, std::string::npos) << "prometheus.yml no longer has " << from;
    if (at != std::string::npos) config.replace(at, from.size(), to);
  };
  replace("\"127.0.0.1:8080\"", "\"127.0.0.1:" + std::to_string(http_port) + "\"");
  replace("scrape_interval: 15s", "scrape_interval: 1s");
  replace("evaluation_interval: 15s", "evaluation_interval: 1s");
  return config;
}

// The value of an unlabelled sample `name` in a Prometheus text page; -1
// if it is not there.
double MetricValue(const std::string& page, const std::string& name) {
  size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

TEST(PrometheusScrape, EveryMetricTheAlertsAndDashboardUseIsScrapedFromFlareServe) {
  std::set<std::string> wanted = MetricsInRules(ReadFile(kDeploy + "/prometheus/alerts.yml"));
  size_t in_rules = wanted.size();
  MetricsInDashboard(nlohmann::json::parse(ReadFile(kDeploy + "/grafana/flare-dashboard.json")),
                     wanted);
  // Not vacuous: the names the seed's thresholds need are among them.
  for (const char* name : {"process_cpu_seconds_total", "flare_machine_memory_bytes",
                           "flare_send_to_ack_seconds_bucket", "flare_pushes_sent_total"}) {
    EXPECT_TRUE(wanted.count(name)) << name;
  }
  EXPECT_GE(in_rules, 6u);
  EXPECT_GE(wanted.size(), in_rules + 5);

  testing::KafkaMockCluster kafka(1);
  ASSERT_TRUE(kafka.ok());
  ASSERT_TRUE(kafka.CreateServeTopics(2).ok());
  ServerProcess server({{"FLARE_BUS_BACKEND", "kafka"},
                        {"FLARE_BUS_KAFKA_BROKERS", kafka.bootstraps()},
                        {"FLARE_BUS_KAFKA_SESSION_TIMEOUT_MS", "3000"},
                        {"FLARE_BUS_KAFKA_HEARTBEAT_INTERVAL_MS", "300"}});
  {
    FlareClient alice(server.Options("alice"));
    FlareClient bob(server.Options("bob"));
    Inbox bob_inbox(bob);
    ASSERT_TRUE(alice.Connect().ok());
    ASSERT_TRUE(bob.Connect().ok());
    for (int i = 1; i <= 20; ++i) {
      auto ack = alice.Send(TextTo("bob", "m" + std::to_string(i)));
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    }
    EXPECT_EQ(bob_inbox.WaitFor(20).size(), 20u);
    // bob's client acks each push; the acks reach the server asynchronously
    // (a push resent under load is observed again when its ack settles it).
    ASSERT_TRUE(PollFor(10, [&] {
      return MetricValue(server.HttpGet("/metrics"), "flare_message_delivery_seconds_count") >= 20;
    })) << server.HttpGet("/metrics");

    PrometheusServer prometheus({{"prometheus.yml", TestScrapeConfig(server.http_port())},
                                 {"alerts.yml", ReadFile(kDeploy + "/prometheus/alerts.yml")}});
    ASSERT_TRUE(prometheus.running()) << prometheus.error();

    nlohmann::json targets;
    bool up = PollFor(30, [&] {
      targets = prometheus.Api("targets");
      if (targets.is_null()) return false;
      for (const auto& t : targets["activeTargets"]) {
        if (t["labels"]["job"] == "flare" && t["health"] == "up") return true;
      }
      return false;
    });
    ASSERT_TRUE(up) << targets.dump(2);
    for (const auto& t : targets["activeTargets"]) {
      EXPECT_EQ(t["labels"]["job"], "flare") << "only the embedded server is a target today";
      EXPECT_EQ(t["labels"]["role"], "embedded");
    }

    std::set<std::string> scraped;
    PollFor(10, [&] {
      nlohmann::json names = prometheus.Api("label/__name__/values");
      if (names.is_array()) scraped = names.get<std::set<std::string>>();
      return std::includes(scraped.begin(), scraped.end(), wanted.begin(), wanted.end());
    });
    for (const auto& name : wanted) {
      EXPECT_TRUE(scraped.count(name))
          << name << " is used by deploy/ but flare does not export it";
    }

    // What Prometheus stored is the server's traffic and the process's figures.
    auto value = [&](const std::string& query) {
      nlohmann::json answer = prometheus.Api("query?query=" + query);
      EXPECT_TRUE(answer.is_object() && answer["result"].size() == 1) << query << answer.dump();
      if (!answer.is_object() || answer["result"].size() != 1) return -1.0;
      return std::stod(answer["result"][0]["value"][1].get<std::string>());
    };
    EXPECT_EQ(value("flare_messages_stored_total"), 20);
    EXPECT_EQ(value("flare_store_batch_messages_sum"), 20);  // every message in some batch
    EXPECT_GE(value("flare_store_batch_messages_count"), 1);
    EXPECT_GE(value("flare_message_delivery_seconds_count"), 20);  // bob acked every push
    // Everything sent was stored: the lag gauge reaches 0 by a later poll
    // and scrape.
    EXPECT_TRUE(PollFor(10, [&] { return value("flare_ingest_consumer_lag_records") == 0; }));
    EXPECT_GT(value("process_cpu_seconds_total"), 0);
    double rss = value("process_resident_memory_bytes");
    EXPECT_GT(rss, 1 << 20);
    EXPECT_GT(value("flare_machine_memory_bytes"), rss);
    EXPECT_GE(value("flare_machine_cpu_cores"), 1);

    // Every alert rule loaded and was evaluated without an error.
    nlohmann::json rules;
    bool evaluated = PollFor(15, [&] {
      rules = prometheus.Api("rules?type=alert");
      if (rules.is_null() || rules["groups"].empty()) return false;
      for (const auto& rule : rules["groups"][0]["rules"]) {
        if (rule["lastEvaluation"].get<std::string>().rfind("0001-", 0) == 0) return false;
      }
      return true;
    });
    ASSERT_TRUE(evaluated) << rules.dump(2);
    std::set<std::string> alerts;
    for (const auto& rule : rules["groups"][0]["rules"]) {
      alerts.insert(rule["name"].get<std::string>());
      EXPECT_EQ(rule["health"], "ok") << rule.dump(2);
    }
    EXPECT_EQ(alerts,
              (std::set<std::string>{"FlareHighCpu", "FlareHighMemory", "FlareHighMessageLatency",
                                     "FlareLowDeliverySuccess"}));
  }
}

}  // namespace
}  // namespace flare
