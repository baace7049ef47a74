// Shared by the push tests: waiting on a condition with a deadline, and a
// PushWorker wired to a provider directory, an in-memory device store and
// an in-process bus carrying its dead letters.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "adapters/inprocess/inprocess_event_bus.h"
#include "adapters/memory/memory_device_store.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/push/worker/push_worker.h"

namespace flare::testing {

// Checks `condition` until it holds or `timeout_ms` passed.
inline bool Eventually(const std::function<bool()>& condition, int64_t timeout_ms = 10'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a wait
  }
  return true;
}

// Pumps `worker` until `condition` holds (or `timeout_ms` passed): token
// disabling and dead letters are follow-ups the pump runs, off the
// provider's thread.
inline bool PumpedUntil(PushWorker& worker, const std::function<bool()>& condition,
                        int64_t timeout_ms = 10'000) {
  return Eventually(
      [&] {
        worker.Pump();
        return condition();
      },
      timeout_ms);
}

// The tenant's figures, for failure messages.
inline std::string StatsText(const PushWorker& worker, const std::string& tenant = "acme") {
  PushStats s = worker.StatsOf(tenant);
  return "sent=" + std::to_string(s.sent) + " failed=" + std::to_string(s.failed) +
         " retried=" + std::to_string(s.retried) + " dead=" + std::to_string(s.dead_lettered) +
         " disabled=" + std::to_string(s.token_disabled) +
         " queued=" + std::to_string(worker.Queued()) +
         " in_flight=" + std::to_string(worker.InFlight());
}

// A memory DeviceStore whose calls a test can override one by one.
class ForwardingDeviceStore : public DeviceStore {
 public:
  Status Register(const PushDevice& d) override { return inner_.Register(d); }
  Status Unregister(const std::string& t, const std::string& u, const std::string& d) override {
    return inner_.Unregister(t, u, d);
  }
  Result<std::vector<PushDevice>> DevicesOf(const std::string& t,
                                            std::span<const std::string> users) override {
    return inner_.DevicesOf(t, users);
  }
  Status DisableToken(const std::string& t, const std::string& platform, const std::string& token,
                      const std::string& reason) override {
    return inner_.DisableToken(t, platform, token, reason);
  }
  Status SetMute(const std::string& t, const std::string& u, const std::string& c,
                 int64_t until) override {
    return inner_.SetMute(t, u, c, until);
  }
  Status SetDoNotDisturb(const std::string& t, const std::string& u,
                         const std::optional<DndWindow>& w) override {
    return inner_.SetDoNotDisturb(t, u, w);
  }
  Result<PushPreferences> Preferences(const std::string& t, const std::string& u) override {
    return inner_.Preferences(t, u);
  }

 private:
  MemoryDeviceStore inner_;
};

// A Random that always gives the same number: backoffs are then known.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(uint64_t value = 0) : value_(value) {}
  uint64_t Next() override { return value_; }

 private:
  uint64_t value_;
};

inline push::v1::PushTask MakeTask(const std::string& task_id, const std::string& platform,
                                   const std::string& token) {
  push::v1::PushTask t;
  t.set_task_id(task_id);
  t.set_tenant("acme");
  t.set_user_id("u-" + task_id);
  t.set_device_id("d-" + task_id);
  t.set_platform(platform);
  t.set_token(token);
  t.set_title("Alice");
  t.set_body("hello " + task_id);
  return t;
}

// A worker whose dead letters go to the in-process bus's DLQ topic, read
// back by a consumer of its own group.
class WorkerRig {
 public:
  WorkerRig(PushProviderDirectory& providers, const ManualClock& clock, PushWorkerOptions options) {
    EXPECT_TRUE(bus_.CreateTopic(options.dlq_topic, 1).ok());
    producer_ = std::move(bus_.CreateProducer()).value();
    dlq_ = std::move(bus_.CreateConsumer("dlq-reader")).value();
    EXPECT_TRUE(dlq_->Subscribe(options.dlq_topic, &listener_).ok());
    worker_ = std::make_unique<PushWorker>(providers, &devices_, producer_.get(), clock, random_,
                                           &metrics_, options);
  }
  PushWorker& worker() { return *worker_; }
  MemoryDeviceStore& devices() { return devices_; }
  // The stored device (disabled or not); a default one when there is none.
  PushDevice Device(const std::string& tenant, const std::string& user, const std::string& device) {
    std::vector<std::string> users{user};
    auto found = devices_.DevicesOf(tenant, users);  // kept: the loop reads into it
    if (!found.ok()) return {};
    for (auto& d : *found) {
      if (d.device_id == device) return d;
    }
    return {};
  }
  Metrics& metrics() { return metrics_; }
  // Every dead letter published so far.
  std::vector<push::v1::PushDeadLetter> PublishedDeadLetters() {
    auto records = dlq_->Poll(100, 0);
    for (const auto& r : records.value()) {
      push::v1::PushDeadLetter letter;
      EXPECT_TRUE(letter.ParseFromString(r.value));
      published_.push_back(letter);
    }
    return published_;
  }
  // Registers the device a task is for, so disabling its token shows.
  void RegisterDeviceOf(const push::v1::PushTask& t) {
    PushDevice device;
    device.tenant = t.tenant();
    device.user_id = t.user_id();
    device.device_id = t.device_id();
    device.platform = t.platform();
    device.token = t.token();
    ASSERT_TRUE(devices_.Register(device).ok());
  }

 private:
  struct NoListener final : BusConsumerListener {
    void OnAssigned(const std::vector<int32_t>&) override {}
    void OnRevoked(const std::vector<int32_t>&) override {}
  };
  InProcessEventBus bus_;
  NoListener listener_;
  std::unique_ptr<BusProducer> producer_;
  std::unique_ptr<BusConsumer> dlq_;
  MemoryDeviceStore devices_;
  FixedRandom random_;
  Metrics metrics_;
  std::vector<push::v1::PushDeadLetter> published_;
  std::unique_ptr<PushWorker> worker_;
};

}  // namespace flare::testing
