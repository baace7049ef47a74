// Runs every flare-bench scenario at small scale against its own spawned
// server and checks completion with no errors, no lost and no duplicated
// messages. Correctness only: no timing is asserted.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

nlohmann::json RunBench(const std::string& args) {
  std::string json = ::testing::TempDir() + "/flare_bench_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
  std::string cmd = std::string(FLARE_BENCH) + " --spawn-server --flare " + FLARE_BINARY +
                    " --duration 1 --json " + json + " " + args + " > /dev/null";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  std::ifstream in(json);
  EXPECT_TRUE(in.good()) << "no JSON written by: " << cmd;
  nlohmann::json j;
  if (in.good()) in >> j;
  return j;
}

void ExpectClean(const nlohmann::json& j) {
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["lost"], 0);
  EXPECT_EQ(j["duplicated"], 0);
  for (const char* key :
       {"scenario", "duration_s", "connections", "acked_per_s", "delivered_per_s", "latency_ms",
        "ack_latency_ms", "server_rss_bytes", "server_rss_per_connection_bytes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* q : {"p50", "p90", "p99", "p999", "max"})
    EXPECT_TRUE(j["latency_ms"].contains(q));
}

TEST(BenchSmoke, Direct) {
  auto j = RunBench("--scenario direct --clients 4 --window 4");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
  EXPECT_EQ(j["delivered"], j["acked"]) << "every acked 1:1 message reached the peer";
}

TEST(BenchSmoke, DirectAtARate) {
  auto j = RunBench("--scenario direct --clients 2 --rate 200");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
}

TEST(BenchSmoke, DirectThroughAPreSendHook) {
  auto j = RunBench("--scenario direct --clients 2 --window 2 --hook-delay-ms 5");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
  // Every send waited for one signed call of the bench's receiver (fail_closed).
  EXPECT_GE(j["hook_calls"].get<int64_t>(), j["acked"].get<int64_t>());
  EXPECT_EQ(j["hook_bad_signatures"], 0);
}

TEST(BenchSmoke, Group) {
  auto j = RunBench("--scenario group --members 20 --clients 3 --window 2");
  ExpectClean(j);
  EXPECT_EQ(j["delivered"].get<int64_t>(), j["acked"].get<int64_t>() * 19);
}

TEST(BenchSmoke, Echo) {
  auto j = RunBench("--scenario echo --clients 4 --window 2");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
}

TEST(BenchSmoke, ConnectionsOverTwoProcesses) {
  auto j = RunBench("--scenario connections --clients 50 --procs 2");
  ExpectClean(j);
  EXPECT_EQ(j["connections"], 50);
  EXPECT_GT(j["server_rss_per_connection_bytes"].get<int64_t>(), 0);
}

}  // namespace
