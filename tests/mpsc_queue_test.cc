#include "common/mpsc_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace flare {
namespace {

TEST(MpscQueue, KeepsEachProducersOrderAndLosesNothing) {
  MpscQueue<std::pair<int, int>> queue(1'000'000);
  constexpr int kProducers = 4, kEach = 20'000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) ASSERT_TRUE(queue.Push({p, i}));
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  while (received < kProducers * kEach) {
    auto taken = queue.PopAll();
    for (const auto& [p, i] : taken) {
      ASSERT_EQ(i, next[p]) << "producer " << p << " out of order";
      ++next[p];
      ++received;
    }
    queue.Release(taken.size());
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(queue.size(), 0u);
}

TEST(MpscQueue, RefusesWhenFullAndAfterClose) {
  MpscQueue<int> queue(2);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  EXPECT_FALSE(queue.Push(3));
  EXPECT_EQ(queue.size(), 2u);
  queue.Close();
  EXPECT_FALSE(queue.Push(4));
  EXPECT_EQ(queue.PopAll(), (std::vector<int>{1, 2}));  // what was queued is still handed out
  EXPECT_TRUE(queue.PopAll().empty());
}

TEST(MpscQueue, TakenItemsCountUntilReleased) {
  MpscQueue<int> queue(2);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  EXPECT_EQ(queue.PopAll().size(), 2u);
  EXPECT_FALSE(queue.Push(3)) << "the consumer still holds two items";
  queue.Release(1);
  EXPECT_TRUE(queue.Push(3));
  EXPECT_FALSE(queue.Push(4));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(MpscQueue, CloseWakesAWaitingConsumer) {
  MpscQueue<int> queue(8);
  std::thread consumer([&] { EXPECT_TRUE(queue.PopAll().empty()); });
  queue.Close();
  consumer.join();
}

}  // namespace
}  // namespace flare
