// Chaos under load, cluster: ClusterLoad (support/cluster_load.h) runs on a
// local cluster while single roles are killed with SIGKILL and restarted on
// their ports, or paused with SIGSTOP and continued, PostgreSQL is
// restarted as after a crash, Redis is restarted empty (it keeps nothing:
// no persistence), and a Kafka mock broker is taken down and brought back.
// After every fault the load must make progress again, and after the last
// one pushes must reach every device again (a Redis restart loses the
// routes until each gateway's next beat registers them again; what was not
// pushed meanwhile comes with the sync the next push's gap starts). At the
// end every acked message is stored exactly once at its acked seq, seqs
// are contiguous, and every device's view equals the server's.
//
// The suite runs each fault once, in an order the seed picks; CHAOS_ROUNDS
// and CHAOS_SEED make a longer run of random faults (docs/benchmarks.md,
// "Chaos").
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "support/cluster_load.h"

namespace flare {
namespace {

using testing::ServerProcess;

enum class Fault {
  kKillGateway,
  kPauseGateway,
  kKillWriter,  // a storage writer and the push-server beside it
  kPauseWriter,
  kKillOrchestrator,
  kPauseOrchestrator,
  kKillSignaling,
  kKillReader,
  kRestartPostgres,
  kRestartRedis,
  kKafkaBrokerDown,
  kCount
};

const char* Name(Fault f) {
  static const char* const kNames[] = {"kill gateway",   "pause gateway",     "kill writer",
                                       "pause writer",   "kill orchestrator", "pause orchestrator",
                                       "kill signaling", "kill reader",       "restart postgres",
                                       "restart redis",  "kafka broker down"};
  return kNames[static_cast<int>(f)];
}

int64_t FromEnv(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoll(value, nullptr, 10) : fallback;
}

class ClusterChaos {
 public:
  ClusterChaos(testing::LocalCluster& cluster, uint32_t seed) : cluster_(cluster), rng_(seed) {}

  void Inject(Fault fault) {
    switch (fault) {
      case Fault::kKillGateway:
        return KillAndRestart(cluster_.gateway(Pick(2)));
      case Fault::kPauseGateway:
        return PauseAndContinue(cluster_.gateway(Pick(2)));
      case Fault::kKillWriter:
        return KillAndRestart(cluster_.writer(Pick(2)));
      // Up to twice the Kafka session timeout (3 s): the group may give the
      // writer's partitions to the other one, and the paused writer must
      // then be fenced when it continues.
      case Fault::kPauseWriter:
        return PauseAndContinue(cluster_.writer(Pick(2)), 6000);
      case Fault::kKillOrchestrator:
        return KillAndRestart(cluster_.orchestrator());
      case Fault::kPauseOrchestrator:
        return PauseAndContinue(cluster_.orchestrator());
      case Fault::kKillSignaling:
        return KillAndRestart(cluster_.signaling());
      case Fault::kKillReader:
        return KillAndRestart(cluster_.reader());
      case Fault::kRestartPostgres: {
        Status st = cluster_.backends().RestartPostgres();
        ASSERT_TRUE(st.ok()) << st.ToString();
        return;
      }
      case Fault::kRestartRedis:
        cluster_.backends().redis().Stop();
        ASSERT_TRUE(cluster_.backends().redis().Start()) << "redis-server did not start again";
        return;
      case Fault::kKafkaBrokerDown: {
        int32_t broker = static_cast<int32_t>(Pick(3)) + 1;
        ASSERT_TRUE(cluster_.backends().kafka().SetBrokerDown(broker).ok());
        Outage(4000);
        ASSERT_TRUE(cluster_.backends().kafka().SetBrokerUp(broker).ok());
        return;
      }
      case Fault::kCount:
        break;
    }
    FAIL() << "unknown fault";
  }

  Fault Random() { return static_cast<Fault>(Pick(static_cast<int>(Fault::kCount))); }
  // Every fault once, in a seeded order.
  std::vector<Fault> EachOnce() {
    std::vector<Fault> all;
    for (int f = 0; f < static_cast<int>(Fault::kCount); ++f) all.push_back(static_cast<Fault>(f));
    std::shuffle(all.begin(), all.end(), rng_);
    return all;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  // The fault's length: how long a process stays stopped or a broker down.
  // Not a synchronisation: the load's progress afterwards is what is waited for.
  void Outage(int max_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + Pick(max_ms - 200)));
  }

  static void KillAndRestart(ServerProcess& process) {
    process.Kill(SIGKILL);
    process.Restart();
  }

  void PauseAndContinue(ServerProcess& process, int max_ms = 3000) {
    process.Pause();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    Outage(max_ms);
    process.Continue();
  }

  testing::LocalCluster& cluster_;
  std::mt19937 rng_;
};

TEST(E2eClusterChaos, AckedMessagesSurviveFaultsInEveryRoleAndBackend) {
  testing::LocalCluster cluster("e2e_cluster_chaos");
  ASSERT_EQ(cluster.error(), "");
  testing::ClusterLoad load(cluster);
  load.Connect();
  ASSERT_FALSE(HasFatalFailure());
  load.Start();
  load.WaitForProgress(5);
  ASSERT_FALSE(HasFatalFailure());

  ClusterChaos chaos(cluster, static_cast<uint32_t>(FromEnv("CHAOS_SEED", 20261201)));
  const int64_t rounds = FromEnv("CHAOS_ROUNDS", 0);  // 0: each fault once
  std::vector<Fault> faults = chaos.EachOnce();
  for (int64_t round = static_cast<int64_t>(faults.size()); round < rounds; ++round) {
    faults.push_back(chaos.Random());
  }
  std::map<Fault, int> injected;
  int fail_stops = 0;
  const auto start = std::chrono::steady_clock::now();
  for (Fault fault : faults) {
    std::printf("cluster chaos: %.1f s: %s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                Name(fault));
    std::fflush(stdout);
    chaos.Inject(fault);
    ASSERT_FALSE(HasFatalFailure()) << Name(fault);
    ++injected[fault];
    // Every device's sends are acked again. Meanwhile the test is the
    // supervisor: a writer whose sync failed (PostgreSQL restarted under
    // it) stops itself, and is restarted as deploy/ has it restarted.
    load.WaitForProgress(3, 90, [&] { fail_stops += cluster.RestartFailStopped(); });
    ASSERT_FALSE(HasFatalFailure()) << "after " << Name(fault);
  }
  load.WaitUntilEveryDeviceHearsAgain();
  load.Stop();
  ASSERT_FALSE(HasFatalFailure());

  size_t total = load.VerifyStoredExactlyOnce(0);
  load.VerifyDevicesConverged(1);
  RecordProperty("faults", static_cast<int>(faults.size()));
  RecordProperty("acked", static_cast<int>(total));
  RecordProperty("fail_stops", fail_stops);
  std::string summary;
  for (const auto& [fault, n] : injected) {
    summary += std::string(summary.empty() ? "" : ", ") + std::to_string(n) + " " + Name(fault);
  }
  std::printf(
      "cluster chaos: %zu faults (%s), %d supervised restarts, %zu acked messages checked%s\n",
      faults.size(), summary.c_str(), fail_stops, total,
      HasFailure() ? " (see the failures above)" : ", none lost or doubled");
}

}  // namespace
}  // namespace flare
