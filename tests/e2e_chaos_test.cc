// Chaos under load, embedded: senders keep sending (direct and to a group,
// each message under its own client id, retried until acked) while the
// server is killed with SIGKILL and restarted, or paused with SIGSTOP and
// continued, at moments a seeded generator picks. Afterwards every acked
// message is stored exactly once at its acked seq, every conversation's
// seqs run from 1 without a gap, and every member's device syncs the same
// history.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "support/frames.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::ServerProcess;

constexpr int kSenders = 4;
constexpr int kAcksPerRound = 40;

// The suite runs 6 rounds; CHAOS_ROUNDS and CHAOS_SEED (not FLARE_*: the
// server refuses FLARE_ variables it does not know) make a
// longer or another run (docs/benchmarks.md, "Chaos").
int64_t FromEnv(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoll(value, nullptr, 10) : fallback;
}

std::string User(int i) { return "u" + std::to_string(i); }

// What the senders were told: conversation -> seq -> client_msg_id.
class AckLog {
 public:
  void Add(const pb::SendAck& ack, const std::string& client_msg_id) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = acked_[ack.conversation_id()].emplace(ack.seq(), client_msg_id);
    if (!fresh) EXPECT_EQ(it->second, client_msg_id) << "two messages acked at one seq";
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [&] { return count_ >= count; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::map<std::string, std::map<int64_t, std::string>> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::map<int64_t, std::string>> acked_;
  int count_ = 0;
};

// Sends until told to stop; a send that fails is retried with the same
// client id (the client resends it after reconnecting), as an app would.
void SendUntilStopped(ServerProcess& server, int i, const std::string& group,
                      std::atomic<bool>& stop, AckLog& log) {
  ClientOptions options = server.Options(User(i), "sender");
  options.request_timeout_ms = 3'000;
  FlareClient client(options);
  while (!stop && !client.Connect().ok()) {
  }
  for (int n = 0; !stop; ++n) {
    pb::SendRequest request;
    request.set_client_msg_id(User(i) + "-" + std::to_string(n));
    if (n % 3 == 2) {
      request.set_conversation_id(group);
    } else {
      request.set_peer_user_id(User((i + 1 + n % 2) % kSenders));
    }
    request.set_type(pb::MESSAGE_TYPE_TEXT);
    request.mutable_content()->set_text("message " + std::to_string(n));
    for (;;) {
      auto ack = client.Send(request);
      if (ack.ok()) {
        log.Add(*ack, request.client_msg_id());
        break;
      }
      if (stop) return;
    }
  }
}

// The whole history of a conversation as one device syncs it (empty for
// a user who is not a member).
std::vector<std::pair<int64_t, std::string>> History(FlareClient& client, const std::string& conv) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (int64_t after = 0;;) {
    auto page = client.Sync(conv, after, 500);
    if (!page.ok() && page.status().code() == Code::kPermissionDenied && after == 0) return out;
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return out;
    for (const auto& m : page->messages()) out.emplace_back(m.seq(), m.client_msg_id());
    if (!page->has_more() || page->messages_size() == 0) return out;
    after = out.back().first;
  }
}

TEST(E2eChaos, AckedMessagesSurviveKillsAndPausesUnderLoad) {
  ServerProcess server;
  std::string group;
  {
    FlareClient owner(server.Options(User(0)));
    ASSERT_TRUE(owner.Connect().ok());
    std::vector<std::string> others;
    for (int i = 1; i < kSenders; ++i) others.push_back(User(i));
    auto created = owner.Group(testing::CreateGroup(others));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    group = created->info().conversation_id();
  }

  AckLog log;
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] { SendUntilStopped(server, i, group, stop, log); });
  }
  std::mt19937 rng(static_cast<uint32_t>(FromEnv("CHAOS_SEED", 20261130)));
  const int64_t rounds = FromEnv("CHAOS_ROUNDS", 6);
  int kills = 0, pauses = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    ASSERT_TRUE(log.WaitFor(log.count() + kAcksPerRound)) << "sends stopped being acked";
    if (rng() % 3 != 0) {
      server.Kill(SIGKILL);
      server.Restart();
      ++kills;
    } else {
      server.Pause();
      ASSERT_FALSE(HasFatalFailure());
      ClientOptions probe_options = server.Options("probe");
      probe_options.request_timeout_ms = 500;
      FlareClient probe(probe_options);
      EXPECT_FALSE(probe.Connect().ok()) << "a stopped server answered";
      server.Continue();
      ++pauses;
    }
  }
  ASSERT_TRUE(log.WaitFor(log.count() + kAcksPerRound)) << "no acks after the last round";
  stop = true;
  for (auto& t : senders) t.join();

  auto acked = log.acked();
  ASSERT_EQ(acked.count(group), 1u);
  size_t checked = 0;
  for (const auto& [conv, by_seq] : acked) {
    std::vector<std::vector<std::pair<int64_t, std::string>>> views;
    for (int i = 0; i < kSenders; ++i) {
      FlareClient reader(server.Options(User(i), "reader"));
      ASSERT_TRUE(reader.Connect().ok());
      auto history = History(reader, conv);
      if (!history.empty()) views.push_back(std::move(history));
    }
    ASSERT_FALSE(views.empty()) << conv;
    const auto& history = views.front();
    for (const auto& other : views) EXPECT_EQ(other, history) << "members disagree on " << conv;
    std::set<std::string> ids;
    for (size_t k = 0; k < history.size(); ++k) {
      EXPECT_EQ(history[k].first, static_cast<int64_t>(k + 1)) << conv << ": a gap";
      const std::string& id = history[k].second;  // empty: a system event (the group's creation)
      EXPECT_TRUE(id.empty() || ids.insert(id).second) << conv << ": " << id << " stored twice";
    }
    for (const auto& [seq, id] : by_seq) {
      ASSERT_GE(history.size(), static_cast<size_t>(seq))
          << conv << ": acked seq " << seq << " lost";
      EXPECT_EQ(history[seq - 1].second, id) << conv << " seq " << seq;
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<size_t>(log.count()));
  RecordProperty("kills", kills);
  RecordProperty("pauses", pauses);
  RecordProperty("acked", log.count());
  std::printf("chaos: %d kills, %d pauses, %d acked messages checked%s\n", kills, pauses,
              log.count(), HasFailure() ? " (see the failures above)" : ", none lost or doubled");
}

}  // namespace
}  // namespace flare
