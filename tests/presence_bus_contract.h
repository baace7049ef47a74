// The contract every PresenceBus adapter passes (TEST_Ps in
// presence_bus_contract.cc), instantiated in presence_bus_contract_test.cc
// (memory) and presence_bus_redistest.cc (redis). The factory returns two
// buses of one backend, standing for two gateways (memory: the same bus
// twice, as in one process); null when the backend cannot be set up.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ports/presence_bus.h"

namespace flare {

using BusPair = std::pair<std::shared_ptr<PresenceBus>, std::shared_ptr<PresenceBus>>;
using PresenceBusFactory = std::function<BusPair()>;

// Collects the notices a listener gets; waits for them with a deadline.
class NoticeInbox {
 public:
  struct Notice {
    std::string tenant, user, payload;
  };
  PresenceBus::Listener Listener() {
    return [this](const std::string& t, const std::string& u, const std::string& p) {
      std::lock_guard lock(mu_);
      got_.push_back({t, u, p});
      cv_.notify_all();
    };
  }
  // The notices once there are at least `n` (fewer if the deadline passes).
  std::vector<Notice> WaitFor(size_t n,
                              std::chrono::milliseconds within = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, within, [&] { return got_.size() >= n; });
    return got_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Notice> got_;
};

class PresenceBusContract
    : public ::testing::TestWithParam<std::pair<std::string, PresenceBusFactory>> {
 protected:
  void SetUp() override {
    ASSERT_NE(buses_.first, nullptr) << "backend " << GetParam().first;
    ASSERT_NE(buses_.second, nullptr) << "backend " << GetParam().first;
  }
  BusPair buses_ = GetParam().second();
};

}  // namespace flare
