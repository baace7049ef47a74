// Killed processes lose nothing: clients on both gateways of a local
// cluster (tests/support/local_cluster.h) send 1:1 and group messages,
// react, mark read and watch presence while one gateway and then one
// storage writer are killed with SIGKILL and a new writer joins. Clients
// of the dead gateway reconnect to the other one and resend what was not
// acked (same client_msg_id). The checks are ClusterLoad's
// (support/cluster_load.h): every acked message stored exactly once, at
// its acked seq, seqs contiguous, every device's view equal to the server's.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/cluster_load.h"

namespace flare {
namespace {

TEST(E2eClusterKill, AckedMessagesSurviveAKilledGatewayAndWriter) {
  testing::LocalCluster cluster("e2e_cluster_kill");
  ASSERT_EQ(cluster.error(), "");
  testing::ClusterLoad load(cluster);
  load.Connect();
  ASSERT_FALSE(HasFatalFailure());
  // Presence across gateways: u3 (gateway 1) sees u0 (gateway 0) online.
  pb::ClientFrame query;
  query.mutable_presence()->add_query("u0");
  auto presence = load.device(3).client->Call(query);
  ASSERT_TRUE(presence.ok() && presence->has_presence_result()) << presence.status().ToString();
  ASSERT_EQ(presence->presence_result().statuses_size(), 1);
  EXPECT_TRUE(presence->presence_result().statuses(0).online());

  load.Start();
  load.WaitForProgress(10);
  cluster.gateway(0).Kill(SIGKILL);
  load.WaitForProgress(10);  // gateway 0's clients are back, on gateway 1
  for (int i = 0; i < 3; ++i) EXPECT_GE(load.device(i).client->reconnects(), 1);
  cluster.writer(0).Kill(SIGKILL);
  load.WaitForProgress(10);  // writer 1 owns every partition now
  cluster.StartWriter(0);
  load.WaitForProgress(10);  // and shares them with the new writer again
  load.Stop();
  ASSERT_FALSE(HasFatalFailure());

  size_t total = load.VerifyStoredExactlyOnce(1);
  EXPECT_GE(total, 4u * 10u * testing::ClusterLoad::kUsers);
  RecordProperty("acked_messages", static_cast<int>(total));
  load.VerifyDevicesConverged(1);
}

}  // namespace
}  // namespace flare
