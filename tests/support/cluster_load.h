// Test support: load on a local cluster (support/local_cluster.h) and the
// checks that nothing acked was lost. Six users, u0..u2 on gateway 0 and
// u3..u5 on gateway 1 (each with the other gateway to fail over to), each
// sending to a group of all six and 1:1 to a peer on the other gateway,
// reacting and marking read as it goes. A send that fails is resent with
// the same client_msg_id until acked, as an app would, so at most one copy
// is stored. Afterwards: every acked message is stored exactly once, at its
// acked seq, with contiguous seqs per conversation, and every device's view
// equals the server's.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "support/device_views.h"
#include "support/frames.h"
#include "support/local_cluster.h"

namespace flare::testing {

class ClusterLoad {
 public:
  static constexpr int kUsers = 6;

  struct Acked {
    std::string conversation_id;
    int64_t seq = 0;
  };

  struct Device : DeviceViews {  // its mutex guards `acked` too
    std::string user;
    std::unique_ptr<FlareClient> client;
    std::map<std::string, Acked> acked;  // client_msg_id -> where it was stored
    std::atomic<int> sends{0};
    std::vector<std::string> conversations;
  };

  explicit ClusterLoad(LocalCluster& cluster) : cluster_(cluster) {}
  ~ClusterLoad() { Stop(); }

  // Connects every device and creates their group and 1:1 conversations.
  void Connect() {
    for (int i = 0; i < kUsers; ++i) {
      AddDevice(i);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::vector<std::string> others;
    for (int i = 1; i < kUsers; ++i) others.push_back("u" + std::to_string(i));
    auto group = devices_[0]->client->Group(CreateGroup(others));
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    const std::string g = group->info().conversation_id();
    for (int i = 0; i < kUsers; ++i) {
      std::string peer = "u" + std::to_string((i + 3) % kUsers);  // on the other gateway
      devices_[i]->conversations = {g, SingleConversationId(devices_[i]->user, peer)};
    }
  }

  void Start() {
    for (auto& d : devices_) threads_.emplace_back([this, dev = d.get()] { Load(*dev); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Waits until every device has `more` acks beyond what it had, calling
  // `meanwhile` (if any) every 100 ms.
  void WaitForProgress(int more, int timeout_s = 90, const std::function<void()>& meanwhile = {}) {
    std::vector<int> before;
    for (auto& d : devices_) before.push_back(d->sends.load());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (size_t i = 0; i < devices_.size(); ++i) {
      while (devices_[i]->sends.load() < before[i] + more) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << devices_[i]->user << " made no progress";
        waiter_.WaitFor([&] { return devices_[i]->sends.load() >= before[i] + more; }, 100);
        if (meanwhile) meanwhile();
      }
    }
  }

  // Waits, with the load running, until every device has had delivered,
  // contiguously, more of each of its conversations than had been acked
  // when called: pushes reach every device again. (A device whose pushes
  // were lost, while a Redis restarted empty had no route to it, gets them
  // from the sync that the next push's gap starts.)
  void WaitUntilEveryDeviceHearsAgain(int timeout_s = 60) {
    std::map<std::string, int64_t> acked_high;  // conversation -> highest acked seq
    for (auto& d : devices_) {
      std::lock_guard lock(d->mu);
      for (const auto& [id, a] : d->acked) {
        acked_high[a.conversation_id] = std::max(acked_high[a.conversation_id], a.seq);
      }
    }
    for (auto& d : devices_) {
      for (const auto& conv : d->conversations) {
        bool heard = waiter_.WaitFor(
            [&] { return d->client->DeliveredSeq(conv) > acked_high[conv]; }, timeout_s * 1000);
        ASSERT_TRUE(heard) << d->user << " " << conv << " delivered "
                           << d->client->DeliveredSeq(conv) << ", acked up to " << acked_high[conv];
      }
    }
  }

  Device& device(int i) { return *devices_[i]; }
  Waiter& waiter() { return waiter_; }

  // Every acked message is stored exactly once at its acked seq and every
  // conversation's seqs run from 1 without a gap, as members read them
  // through gateway `via`. Returns how many acked messages were checked.
  size_t VerifyStoredExactlyOnce(int via) {
    std::map<std::string, std::map<int64_t, std::string>> stored;  // conv -> seq -> id
    for (auto& d : devices_) {
      FlareClient own(cluster_.gateway(via).Options(d->user, "verifier"));
      EXPECT_TRUE(own.Connect().ok());
      for (const auto& conv : d->conversations) {
        if (stored.count(conv)) continue;
        ConversationView view = ServerView(own, d->user, conv);
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
    return total;
  }

  // Every device's view equals the server's once it has caught up (from
  // pushes, or syncs after a gap or a reconnect).
  void VerifyDevicesConverged(int via) {
    for (auto& d : devices_) {
      FlareClient own(cluster_.gateway(via).Options(d->user, "verifier"));
      ASSERT_TRUE(own.Connect().ok());
      for (const auto& conv : d->conversations) {
        ConversationView server_view = ServerView(own, d->user, conv);
        bool caught_up = waiter_.WaitFor(
            [&] { return d->client->DeliveredSeq(conv) >= server_view.max_seq(); }, 30'000);
        if (!caught_up) {
          const auto& messages = server_view.messages();
          auto missing = messages.upper_bound(d->client->DeliveredSeq(conv));
          ADD_FAILURE() << d->user << " " << conv << " delivered " << d->client->DeliveredSeq(conv)
                        << " of " << server_view.max_seq() << "; the first missing: "
                        << (missing == messages.end() ? std::string("?")
                                                      : missing->second.ShortDebugString());
          continue;
        }
        server_view = ServerView(own, d->user, conv);  // reactions may have landed meanwhile
        std::lock_guard lock(d->mu);
        std::string difference;
        EXPECT_TRUE(
            d->views.try_emplace(conv, d->user).first->second.SameAs(server_view, &difference))
            << d->user << " " << conv << ": " << difference;
      }
    }
  }

 private:
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
  // stored) across lost connections, restarts and takeovers.
  void SendUntilAcked(Device& d, const pb::SendRequest& request) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
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
      SendUntilAcked(d, ToConversation(conv, d.user + " " + std::to_string(n)));
      if (::testing::Test::HasFatalFailure()) return;
      Acked last;
      {
        std::lock_guard lock(d.mu);
        for (const auto& [id, a] : d.acked) {
          if (a.conversation_id == conv && a.seq > last.seq) last = a;
        }
      }
      if (n % 5 == 4) {
        pb::MessageOpRequest op = Op(conv, last.seq);
        op.mutable_reaction()->set_emoji("+1");
        op.mutable_reaction()->set_add(true);
        (void)d.client->MessageOp(op);  // may be lost with a killed process: not counted
      }
      if (n % 3 == 2) (void)d.client->MarkRead(conv, last.seq);
    }
  }

  LocalCluster& cluster_;
  Waiter waiter_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace flare::testing
