// Test support: records what a FlareClient delivers and waits for it.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "client/flare_client.h"
#include "support/server_process.h"

namespace flare::testing {

// The handler shares ownership of what it writes to, so a client that
// outlives its Inbox never writes to freed memory.
class Inbox {
 public:
  explicit Inbox(FlareClient& client) : state_(std::make_shared<State>()) {
    client.OnMessage([state = state_](const pb::Message& m) {
      {
        std::lock_guard lock(state->waiter.mutex());
        state->messages.push_back(m);
      }
      state->waiter.Notify();
    });
  }
  // Waits until at least `n` messages arrived; returns them all.
  std::vector<pb::Message> WaitFor(size_t n, int64_t timeout_ms = 15'000) {
    bool ok = state_->waiter.WaitFor([&] { return state_->messages.size() >= n; }, timeout_ms);
    std::lock_guard lock(state_->waiter.mutex());
    EXPECT_TRUE(ok) << "got " << state_->messages.size() << " of " << n << " messages";
    return state_->messages;
  }
  // Waits until `done(messages so far)` holds; false on timeout.
  template <typename Done>
  bool WaitUntil(Done done, int64_t timeout_ms = 15'000) {
    return state_->waiter.WaitFor([&] { return done(state_->messages); }, timeout_ms);
  }
  std::vector<pb::Message> All() {
    std::lock_guard lock(state_->waiter.mutex());
    return state_->messages;
  }

 private:
  struct State {
    Waiter waiter;
    std::vector<pb::Message> messages;
  };
  std::shared_ptr<State> state_;
};

}  // namespace flare::testing
