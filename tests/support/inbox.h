// Test support: records what a FlareClient delivers and waits for it.
#pragma once

#include <map>
#include <vector>

#include "client/flare_client.h"
#include "support/server_process.h"

namespace flare::testing {

class Inbox {
 public:
  explicit Inbox(FlareClient& client) {
    client.OnMessage([this](const pb::Message& m) {
      {
        std::lock_guard lock(waiter_.mutex());
        messages_.push_back(m);
      }
      waiter_.Notify();
    });
  }
  // Waits until at least `n` messages arrived; returns them all.
  std::vector<pb::Message> WaitFor(size_t n, int64_t timeout_ms = 15'000) {
    bool ok = waiter_.WaitFor([&] { return messages_.size() >= n; }, timeout_ms);
    std::lock_guard lock(waiter_.mutex());
    EXPECT_TRUE(ok) << "got " << messages_.size() << " of " << n << " messages";
    return messages_;
  }
  std::vector<pb::Message> All() {
    std::lock_guard lock(waiter_.mutex());
    return messages_;
  }

 private:
  Waiter waiter_;
  std::vector<pb::Message> messages_;
};

}  // namespace flare::testing
