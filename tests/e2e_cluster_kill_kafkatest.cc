// Killed processes lose nothing: clients on both gateways of a local
// cluster (tests/support/local_cluster.h) send 1:1 and group messages,
// react, mark read and watch presence while one gateway and then one
// storage writer are killed with SIGKILL and a new writer joins. Clients
// of the dead gateway reconnect to the other one and resend what was not
// acked (same client_msg_id). Afterwards every acked message is stored
// exactly once, at its acked seq, with contiguous seqs per conversation,
// and every device's view equals the server's.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "client/conversation_view.h"
#include "common/ids.h"
#include "support/device_views.h"
#include "support/frames.h"
#include "support/local_cluster.h"

namespace flare {
namespace {

constexpr int kUsers = 6;  // u0..u2 on gateway 0, u3..u5 on gateway 1

struct Acked {
  std::string conversation_id;
  int64_t seq = 0;
};

struct Device : testing::DeviceViews {  // its mutex guards `acked` too
  std::string user;
  std::unique_ptr<FlareClient> client;
  std::map<std::string, Acked> acked;  // client_msg_id -> where it was stored
  std::atomic<int> sends{0};
  std::vector<std::string> conversations;
};

class E2eClusterKill : public ::testing::Test {
 protected:
  void AddDevice(int i) {
    auto d = std::make_unique<Device>();
    d->user = "u" + std::to_string(i);
    ClientOptions o = cluster_.gateway(i < 3 ? 0 : 1).Options(d->user);
    o.failover_ports = {cluster_.gateway(i < 3 ? 1 : 0).ws_port()};
    o.backoff_max_ms = 300;
    d->client = std::make_unique<FlareClient>(o);
    d->Follow(*d->client, d->user, waiter_);
    ASSERT_TRUE(d->client->Connect().ok());
    devices_.push_back(std::move(d));
  }

  // Sends until acked, resending the same request (so at most one copy is
  // stored) across lost connections and writer takeovers.
  void SendUntilAcked(Device& d, pb::SendRequest request) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto ack = d.client->Send(request);
      if (ack.ok()) {
        std::lock_guard lock(d.mu);
        d.acked[request.client_msg_id()] = {ack->conversation_id(), ack->seq()};
        ++d.sends;
        waiter_.Notify();
        return;
      }
      ASSERT_EQ(ack.status().code(), Code::kUnavailable) << ack.status().ToString();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << ack.status().ToString();
    }
  }

  // One device's load: sends alternating over its conversations, a reaction
  // on every fifth acked message and a read mark on every third.
  void Load(Device& d) {
    for (int n = 0; !stop_; ++n) {
      const std::string& conv = d.conversations[n % d.conversations.size()];
      SendUntilAcked(d, testing::ToConversation(conv, d.user + " " + std::to_string(n)));
      if (::testing::Test::HasFatalFailure()) return;
      Acked last;
      {
        std::lock_guard lock(d.mu);
        for (const auto& [id, a] : d.acked) {
          if (a.conversation_id == conv && a.seq > last.seq) last = a;
        }
      }
      if (n % 5 == 4) {
        pb::MessageOpRequest op = testing::Op(conv, last.seq);
        op.mutable_reaction()->set_emoji("+1");
        op.mutable_reaction()->set_add(true);
        (void)d.client->MessageOp(op);  // may be lost with a killed process: not counted
      }
      if (n % 3 == 2) (void)d.client->MarkRead(conv, last.seq);
    }
  }

  // Waits until every device has `more` acks beyond what it had.
  void WaitForProgress(int more) {
    std::vector<int> before;
    for (auto& d : devices_) before.push_back(d->sends.load());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    for (size_t i = 0; i < devices_.size(); ++i) {
      while (devices_[i]->sends.load() < before[i] + more) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << devices_[i]->user << " made no progress";
        waiter_.WaitFor([&] { return devices_[i]->sends.load() >= before[i] + more; }, 100);
      }
    }
  }

  testing::LocalCluster cluster_{"e2e_cluster_kill"};
  testing::Waiter waiter_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::atomic<bool> stop_{false};
};

TEST_F(E2eClusterKill, AckedMessagesSurviveAKilledGatewayAndWriter) {
  ASSERT_EQ(cluster_.error(), "");
  for (int i = 0; i < kUsers; ++i) AddDevice(i);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::string> others;
  for (int i = 1; i < kUsers; ++i) others.push_back("u" + std::to_string(i));
  auto group = devices_[0]->client->Group(testing::CreateGroup(others));
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  const std::string g = group->info().conversation_id();
  for (int i = 0; i < kUsers; ++i) {
    // Each user's 1:1 peer is on the other gateway.
    std::string peer = "u" + std::to_string((i + 3) % kUsers);
    devices_[i]->conversations = {g, SingleConversationId(devices_[i]->user, peer)};
  }
  // Presence across gateways: u3 (gateway 1) sees u0 (gateway 0) online.
  pb::ClientFrame query;
  query.mutable_presence()->add_query("u0");
  auto presence = devices_[3]->client->Call(query);
  ASSERT_TRUE(presence.ok() && presence->has_presence_result()) << presence.status().ToString();
  ASSERT_EQ(presence->presence_result().statuses_size(), 1);
  EXPECT_TRUE(presence->presence_result().statuses(0).online());

  std::vector<std::thread> load;
  for (auto& d : devices_) load.emplace_back([this, dev = d.get()] { Load(*dev); });
  WaitForProgress(10);
  cluster_.gateway(0).Kill(SIGKILL);
  WaitForProgress(10);  // gateway 0's clients are back, on gateway 1
  for (int i = 0; i < 3; ++i) EXPECT_GE(devices_[i]->client->reconnects(), 1);
  cluster_.writer(0).Kill(SIGKILL);
  WaitForProgress(10);  // writer 1 owns every partition now
  cluster_.StartWriter(0);
  WaitForProgress(10);  // and shares them with the new writer again
  stop_ = true;
  for (auto& t : load) t.join();
  ASSERT_FALSE(HasFatalFailure());

  // The server's view, read by a member of each conversation.
  std::map<std::string, std::map<int64_t, std::string>> stored;  // conv -> seq -> client_msg_id
  for (auto& d : devices_) {
    FlareClient own(cluster_.gateway(1).Options(d->user, "verifier"));
    ASSERT_TRUE(own.Connect().ok());
    for (const auto& conv : d->conversations) {
      if (stored.count(conv)) continue;
      ConversationView view = testing::ServerView(own, d->user, conv);
      int64_t expected = 1;
      auto& seqs = stored[conv];
      for (const auto& [seq, m] : view.messages()) {
        EXPECT_EQ(seq, expected++) << conv << ": seqs not contiguous";
        if (!m.client_msg_id().empty()) seqs[seq] = m.client_msg_id();
      }
    }
  }
  size_t total = 0;
  for (auto& d : devices_) {
    for (const auto& [id, a] : d->acked) {
      ++total;
      auto& seqs = stored[a.conversation_id];
      size_t copies = 0;
      for (const auto& [seq, stored_id] : seqs) copies += stored_id == id;
      EXPECT_EQ(copies, 1u) << id << " stored " << copies << " times";
      EXPECT_EQ(seqs[a.seq], id) << id << " acked at seq " << a.seq;
    }
  }
  EXPECT_GE(total, 4u * 10u * kUsers);
  RecordProperty("acked_messages", static_cast<int>(total));

  // Every device's view equals the server's once it has caught up.
  for (auto& d : devices_) {
    FlareClient own(cluster_.gateway(1).Options(d->user, "verifier"));
    ASSERT_TRUE(own.Connect().ok());
    for (const auto& conv : d->conversations) {
      ConversationView server_view = testing::ServerView(own, d->user, conv);
      bool caught_up = waiter_.WaitFor(
          [&] { return d->client->DeliveredSeq(conv) >= server_view.max_seq(); }, 30'000);
      ASSERT_TRUE(caught_up) << d->user << " " << conv << " delivered "
                             << d->client->DeliveredSeq(conv) << " of " << server_view.max_seq();
      server_view = testing::ServerView(own, d->user, conv);  // reactions may have landed meanwhile
      std::lock_guard lock(d->mu);
      std::string difference;
      EXPECT_TRUE(
          d->views.try_emplace(conv, d->user).first->second.SameAs(server_view, &difference))
          << d->user << " " << conv << ": " << difference;
    }
  }
}

}  // namespace
}  // namespace flare
