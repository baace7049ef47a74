// The lean WebSocket server shares an I/O thread fairly: a peer that sends
// faster than it is served gets a bounded turn, so a connection opening
// beside it is answered after a few turns, not after the backlog.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "adapters/lean_ws/lean_ws.h"
#include "services/signaling/gateway/transport.h"
#include "support/loopback_transport.h"
#include "support/raw_ws_client.h"

namespace flare {
namespace {

using testing::RawWsClient;

constexpr int kFloodFrames = 10'000;
constexpr size_t kFloodPayload = 100;

// Counts the flooder's frames, each costing a little work as a real
// handler's would, and notes how many were handled when the newcomer opened.
class CountingHandler final : public ConnectionHandler {
 public:
  void OnOpen(const std::shared_ptr<Connection>&, std::string token) override {
    if (token != "newcomer") return;
    std::lock_guard lock(mu_);
    handled_at_open_ = handled_.load();
    cv_.notify_all();
  }
  void OnFrame(const std::shared_ptr<Connection>&, std::string_view, bool) override {
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    while (std::chrono::steady_clock::now() < until) {
    }
    if (handled_.fetch_add(1) == 0) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }
  void OnClose(const std::shared_ptr<Connection>&) override {}

  bool WaitFloodStarted() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return handled_.load() > 0; });
  }
  std::optional<int> WaitNewcomerOpened() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return handled_at_open_.has_value(); });
    return handled_at_open_;
  }
  int handled() const { return handled_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> handled_{0};
  std::optional<int> handled_at_open_;
};

TEST(LeanWsFairness, ANewConnectionIsAnsweredAfterAFewTurnsOfAFloodingPeer) {
  CountingHandler handler;
  // The flooder, the newcomer and the acceptor share the one I/O thread.
  auto transport = MakeLeanTransport(testing::LoopbackTransportOptions(1), &handler,
                                     testing::EmptyHttpHandler());
  ASSERT_TRUE(transport->Start().ok());

  RawWsClient flooder(transport->ws_port());
  ASSERT_TRUE(flooder.Open("/ws?token=flooder"));
  std::string flood;
  for (int i = 0; i < kFloodFrames; ++i) {
    flood += RawWsClient::Frame(0x1, std::string(kFloodPayload, 'f'));
  }
  std::thread writer([&] { flooder.WriteRaw(flood); });
  struct Join {  // also when an assertion returns early
    std::thread& t;
    ~Join() { t.join(); }
  } join{writer};
  ASSERT_TRUE(handler.WaitFloodStarted());

  RawWsClient newcomer(transport->ws_port());  // connected; the request is not sent yet
  const int before = handler.handled();
  ASSERT_TRUE(newcomer.Open("/ws?token=newcomer"));
  std::optional<int> at_open = handler.WaitNewcomerOpened();
  ASSERT_TRUE(at_open.has_value());
  ASSERT_LT(*at_open, kFloodFrames) << "the flood was over before the newcomer came";
  // Accepting, reading the request and writing the answer take a few turns
  // of the thread; a turn handles at most kReadTurn bytes of the flood
  // (about 155 of these frames; ~620 here). 256 KiB turns handled ~4,000.
  EXPECT_LT(*at_open - before, 2'500)
      << "frames handled: before " << before << ", at open " << *at_open;
}

}  // namespace
}  // namespace flare
