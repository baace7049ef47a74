// A real `prometheus` scrapes every process of a local cluster
// (tests/support/local_cluster.h) through the file-based discovery of
// deploy/prometheus/prometheus.yml (job "flare-roles", one roles/*.yml
// file as scripts/cluster writes it): every process is up, and the
// cluster's traffic adds up across processes.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/frames.h"
#include "support/inbox.h"
#include "support/local_cluster.h"
#include "support/prometheus_server.h"

namespace flare {
namespace {

TEST(E2eClusterPrometheus, EveryRoleProcessIsScrapedAndTheTrafficAddsUp) {
  testing::LocalCluster cluster("e2e_cluster_prometheus");
  ASSERT_EQ(cluster.error(), "");
  FlareClient alice(cluster.gateway(0).Options("alice"));
  FlareClient bob(cluster.gateway(1).Options("bob"));
  testing::Inbox bob_inbox(bob);
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(alice.Send(testing::TextTo("bob", "m" + std::to_string(i))).ok());
  EXPECT_EQ(bob_inbox.WaitFor(20).size(), 20u);

  std::string roles;
  for (const auto& [role, process] : cluster.Processes()) {
    roles += "- targets: [\"127.0.0.1:" + std::to_string(process->http_port()) +
             "\"]\n  labels: {role: " + role + "}\n";
  }
  const std::string deploy = std::string(FLARE_SOURCE_DIR) + "/deploy/prometheus/";
  std::string config = testing::ReadFile(deploy + "prometheus.yml");
  for (const std::string interval : {"scrape_interval: 15s", "evaluation_interval: 15s"}) {
    size_t at = config.find(interval);
    ASSERT_NE(at, std::string::npos) << interval;
    config.replace(at + interval.size() - 3, 3, "1s");
  }
  config += "\n";  // file_sd refresh is by file watch, not the 1m interval
  testing::PrometheusServer prometheus({{"prometheus.yml", config},
                                        {"alerts.yml", testing::ReadFile(deploy + "alerts.yml")},
                                        {"roles/cluster.yml", roles}});
  ASSERT_TRUE(prometheus.running()) << prometheus.error();
  auto value = [&](const std::string& query) {
    nlohmann::json answer = prometheus.Api("query?query=" + query);
    if (!answer.is_object() || answer["result"].size() != 1) return -1.0;
    return std::stod(answer["result"][0]["value"][1].get<std::string>());
  };
  size_t processes = cluster.Processes().size();
  EXPECT_TRUE(testing::PollFor(60, [&] {
    return value("count(up%7Bjob%3D%22flare-roles%22%7D%3D%3D1)") == processes;
  })) << prometheus.Api("targets").dump(2);
  // Stored by the writers, pushed by the gateways, whichever did it.
  EXPECT_TRUE(testing::PollFor(20, [&] {
    return value("sum(flare_messages_stored_total%7Brole%3D%22storage-writer%22%7D)") == 20;
  }));
  EXPECT_TRUE(testing::PollFor(20, [&] {
    return value("sum(flare_pushes_sent_total%7Brole%3D%22signaling-gateway%22%7D)") >= 20;
  }));
  EXPECT_EQ(value("sum(flare_messages_stored_total%7Brole%3D%22signaling-gateway%22%7D)"), 0);
}

}  // namespace
}  // namespace flare
