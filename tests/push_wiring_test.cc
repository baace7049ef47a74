// StartPushWorker (app/push_wiring): providers, worker and task consumer
// built from Config on the in-process bus, as the embedded server would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/push_wiring.h"
#include "push_test_support.h"
#include "support/hook_receiver.h"

namespace flare {
namespace {

using testing::Eventually;
using testing::MakeTask;

TEST(PushWiring, TasksOnTheBusReachTheProviderAndFailuresTheDeadLetterTopic) {
  testing::HookReceiver receiver("wiring-secret");
  Config config;
  config.push_providers.by_tenant["*"]["webhook"] = {{"url", receiver.url("/push")},
                                                     {"secret", "wiring-secret"}};
  config.push_worker_max_attempts = 1;
  InProcessEventBus bus;
  MemoryDeviceStore devices;
  Metrics metrics;
  auto stack = StartPushWorker(config, bus, &devices, SystemClock::Instance(), &metrics);
  ASSERT_TRUE(stack.ok()) << stack.status().ToString();

  auto producer = std::move(bus.CreateProducer()).value();
  auto web = MakeTask("t-web", "web", "tok-web");
  auto ios = MakeTask("t-ios", "ios", "tok-ios");  // no apns configured: a dead letter
  for (const auto& task : {web, ios}) {
    ASSERT_TRUE(producer
                    ->Publish(config.push_worker_tasks_topic, "acme/" + task.user_id(),
                              task.SerializeAsString(), [](Status) {})
                    .ok());
  }
  ASSERT_TRUE(receiver.WaitForCalls(1));
  auto call = receiver.Calls()[0];
  EXPECT_TRUE(call.signature_ok) << call.signature_error;
  EXPECT_EQ(nlohmann::json::parse(call.body)["task_id"], "t-web");
  PushWorker& worker = stack.value()->worker();
  ASSERT_TRUE(Eventually([&] {
    return worker.StatsOf("acme").sent == 1 && worker.StatsOf("acme").dead_lettered == 1;
  })) << testing::StatsText(worker);
  EXPECT_NE(metrics.Render().find("flare_push_dead_letters_total{provider=\"apns\"} 1"),
            std::string::npos);

  struct : BusConsumerListener {
    void OnAssigned(const std::vector<int32_t>&) override {}
    void OnRevoked(const std::vector<int32_t>&) override {}
  } listener;
  auto dlq = std::move(bus.CreateConsumer("dlq-reader")).value();
  ASSERT_TRUE(dlq->Subscribe(config.push_worker_dlq_topic, &listener).ok());
  std::vector<push::v1::PushDeadLetter> letters;
  ASSERT_TRUE(Eventually([&] {
    auto records = dlq->Poll(10, 0);  // kept: the loop reads into it
    for (const auto& r : records.value()) {
      EXPECT_TRUE(letters.emplace_back().ParseFromString(r.value));
    }
    return !letters.empty();
  }));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].task().task_id(), "t-ios") << letters[0].DebugString();
  stack.value()->Stop();
}

}  // namespace
}  // namespace flare
