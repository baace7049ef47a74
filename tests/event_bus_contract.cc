// The contract every EventBus adapter passes; instantiated per adapter in
// event_bus_contract_test.cc (inprocess) and event_bus_kafkatest.cc (kafka,
// on librdkafka's mock cluster).
#include "event_bus_contract.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace flare {

void RecordingListener::OnAssigned(const std::vector<int32_t>& partitions) {
  ++assigned_calls;
  ++epoch;
  owned.insert(partitions.begin(), partitions.end());
  ever_assigned.insert(ever_assigned.end(), partitions.begin(), partitions.end());
}

void RecordingListener::OnRevoked(const std::vector<int32_t>& partitions) {
  if (before_revoke) before_revoke(partitions);
  ++revoked_calls;
  ++epoch;
  for (int32_t p : partitions) owned.erase(p);
}

std::vector<BusRecord> TestConsumer::PollOnce(int timeout_ms, int max_records) {
  auto records = consumer->Poll(max_records, timeout_ms);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return {};
  for (const auto& r : *records) {
    if (!listener.owned.count(r.partition)) ++unowned_records;
    received.push_back(r);
  }
  return std::move(records).value();
}

std::pair<std::string, int> ParseKeyed(const std::string& value) {
  auto colon = value.find(':');
  return {value.substr(0, colon), std::stoi(value.substr(colon + 1))};
}

std::unique_ptr<TestConsumer> EventBusContract::Join(const std::string& group,
                                                     const std::string& topic,
                                                     const ConsumerOptions& options) {
  auto member = std::make_unique<TestConsumer>();
  auto consumer = bus().CreateConsumer(group, options);
  EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
  if (!consumer.ok()) return nullptr;
  member->consumer = std::move(consumer).value();
  Status st = member->consumer->Subscribe(topic, &member->listener);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return member;
}

std::vector<std::string> EventBusContract::PublishKeyed(BusProducer& producer,
                                                        const std::string& topic, int keys,
                                                        int per_key, int first_seq) {
  struct Acks {
    std::mutex mu;
    std::condition_variable cv;
    int ok = 0;
    int failed = 0;
  };
  auto acks = std::make_shared<Acks>();
  std::vector<std::string> values;
  for (int seq = first_seq; seq < first_seq + per_key; ++seq) {
    for (int k = 0; k < keys; ++k) {
      std::string key = "k" + std::to_string(k);
      values.push_back(key + ":" + std::to_string(seq));
      Status st = producer.Publish(topic, key, values.back(), [acks](Status s) {
        std::lock_guard lock(acks->mu);
        ++(s.ok() ? acks->ok : acks->failed);
        acks->cv.notify_all();
      });
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  }
  Status flushed = producer.Flush(30'000);
  EXPECT_TRUE(flushed.ok()) << flushed.ToString();
  std::unique_lock lock(acks->mu);
  bool all = acks->cv.wait_for(lock, std::chrono::seconds(30), [&] {
    return acks->ok + acks->failed == static_cast<int>(values.size());
  });
  EXPECT_TRUE(all) << acks->ok << " of " << values.size() << " acknowledged";
  EXPECT_EQ(acks->failed, 0);
  return values;
}

bool EventBusContract::PollUntil(const std::vector<TestConsumer*>& consumers,
                                 const std::function<bool()>& done,
                                 std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    for (TestConsumer* c : consumers) c->PollOnce();
  }
  return true;
}

namespace {

// Checks each key's records in `records` are seq first, first+1, ... with
// no gap or repeat; returns the next seq per key.
std::map<std::string, int> ExpectConsecutivePerKey(const std::vector<BusRecord>& records) {
  std::map<std::string, int> next;
  for (const auto& r : records) {
    auto [key, seq] = ParseKeyed(r.value);
    EXPECT_EQ(key, r.key);
    if (next.count(key)) {
      EXPECT_EQ(seq, next[key]) << "key " << key << " out of order";
    }
    next[key] = seq + 1;
  }
  return next;
}

// Commits, per partition, the offset after the last record in `records`.
void CommitProcessed(TestConsumer& c, const std::vector<BusRecord>& records,
                     std::map<int32_t, int64_t>& committed) {
  std::map<int32_t, int64_t> next;
  for (const auto& r : records) next[r.partition] = r.offset + 1;
  for (auto [p, offset] : next) {
    Status st = c.consumer->Commit(p, offset);
    // A rebalance may take the partition first: then it is redelivered.
    EXPECT_TRUE(st.ok() || st.code() == Code::kAborted) << st.ToString();
    if (st.ok()) committed[p] = std::max(committed[p], offset);
  }
}

}  // namespace

TEST_P(EventBusContract, OneConsumerGetsEveryKeyInPublishOrder) {
  CreateTopic("orders", 4);
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  auto published = PublishKeyed(**producer, "orders", 20, 50);
  auto a = Join("g1", "orders");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->received.size() >= published.size(); },
      under_test_.group_deadline + std::chrono::seconds(10)))
      << a->received.size() << " of " << published.size();
  EXPECT_EQ(a->received.size(), published.size());  // nothing twice
  auto next = ExpectConsecutivePerKey(a->received);
  EXPECT_EQ(next.size(), 20u);
  for (const auto& [key, seq] : next) EXPECT_EQ(seq, 50) << key;
  EXPECT_EQ(a->unowned_records, 0);
  EXPECT_EQ(std::set<int32_t>(a->listener.owned), (std::set<int32_t>{0, 1, 2, 3}));
}

TEST_P(EventBusContract, TwoConsumersSplitThePartitionsAndKeepEachKeysOrder) {
  CreateTopic("orders", 4);
  auto a = Join("g2", "orders");
  auto b = Join("g2", "orders");
  ASSERT_TRUE(a && b);
  // Both own partitions before anything is published: no redelivery below.
  ASSERT_TRUE(PollUntil(
      {a.get(), b.get()}, [&] { return !a->listener.owned.empty() && !b->listener.owned.empty(); },
      under_test_.group_deadline * 3));
  std::set<int32_t> all(a->listener.owned);
  all.insert(b->listener.owned.begin(), b->listener.owned.end());
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(a->listener.owned.size() + b->listener.owned.size(), 4u) << "a partition owned twice";

  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok());
  auto published = PublishKeyed(**producer, "orders", 20, 50);
  ASSERT_TRUE(PollUntil(
      {a.get(), b.get()},
      [&] { return a->received.size() + b->received.size() >= published.size(); },
      under_test_.group_deadline))
      << a->received.size() + b->received.size() << " of " << published.size();
  EXPECT_EQ(a->received.size() + b->received.size(), published.size());
  EXPECT_FALSE(a->received.empty());
  EXPECT_FALSE(b->received.empty());
  auto next_a = ExpectConsecutivePerKey(a->received);
  auto next_b = ExpectConsecutivePerKey(b->received);
  for (const auto& [key, seq] : next_a) {
    EXPECT_EQ(next_b.count(key), 0u) << key << " went to both consumers";
    EXPECT_EQ(seq, 50);
  }
  for (const auto& [key, seq] : next_b) EXPECT_EQ(seq, 50);
  EXPECT_EQ(a->unowned_records + b->unowned_records, 0);
}

TEST_P(EventBusContract, AConsumerThatDiesUncommittedIsRedeliveredFromItsLastCommit) {
  CreateTopic("orders", 3);
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok());
  auto published = PublishKeyed(**producer, "orders", 9, 20);
  auto a = Join("g3", "orders");
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->received.size() >= published.size(); },
      under_test_.group_deadline + std::chrono::seconds(10)));
  // Commit about half of each partition; the rest is processed but not durable.
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const auto& r : a->received) offsets[r.partition].push_back(r.offset);
  std::map<int32_t, int64_t> committed;
  for (auto& [p, list] : offsets) {
    committed[p] = list[list.size() / 2];
    ASSERT_TRUE(a->consumer->Commit(p, committed[p]).ok());
  }
  ASSERT_TRUE(a->consumer->Close().ok());
  EXPECT_GE(a->listener.revoked_calls, 1);
  EXPECT_TRUE(a->listener.owned.empty());

  size_t expected = 0;
  for (const auto& r : a->received) expected += r.offset >= committed[r.partition] ? 1 : 0;
  auto b = Join("g3", "orders");
  ASSERT_TRUE(PollUntil(
      {b.get()}, [&] { return b->received.size() >= expected; },
      under_test_.group_deadline + std::chrono::seconds(10)))
      << b->received.size() << " of " << expected;
  std::set<std::pair<int32_t, int64_t>> got;
  for (const auto& r : b->received) {
    EXPECT_GE(r.offset, committed[r.partition]) << "committed record redelivered";
    got.insert({r.partition, r.offset});
  }
  EXPECT_EQ(got.size(), expected);
  EXPECT_EQ(b->received.size(), expected);
  for (const auto& r : a->received) {
    if (r.offset >= committed[r.partition]) {
      EXPECT_TRUE(got.count({r.partition, r.offset}));
    }
  }
}

TEST_P(EventBusContract, AConsumerJoiningMidStreamTakesOverWithoutLosingOrRepeatingCommittedWork) {
  CreateTopic("flow", 4);
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok());
  std::map<int32_t, int64_t> committed;  // highest successful commit per partition
  std::vector<std::string> published;
  int next_seq = 0;
  auto a = Join("g4", "flow");
  std::unique_ptr<TestConsumer> b;
  std::map<std::string, std::map<std::string, int>> last_seq;  // consumer+epoch -> key -> seq
  int redelivered_committed = 0;
  auto process = [&](TestConsumer& c, const std::string& name) {
    auto records = c.PollOnce();
    for (const auto& r : records) {
      if (committed.count(r.partition) && r.offset < committed[r.partition]) {
        ++redelivered_committed;
      }
      auto [key, seq] = ParseKeyed(r.value);
      auto& last = last_seq[name + std::to_string(c.listener.epoch)];
      if (last.count(key)) {
        EXPECT_EQ(seq, last[key] + 1) << name << " " << key;
      }
      last[key] = seq;
    }
    CommitProcessed(c, records, committed);
  };
  auto deadline = std::chrono::steady_clock::now() + under_test_.group_deadline * 4;
  // Publish in small chunks between polls; B joins once A has processed a
  // quarter, and publishing goes on until B owns partitions and 800 are out.
  while (published.size() < 800 || b == nullptr || b->listener.owned.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "B never got partitions";
    auto chunk = PublishKeyed(**producer, "flow", 10, 1, next_seq++);
    published.insert(published.end(), chunk.begin(), chunk.end());
    process(*a, "a");
    if (b) process(*b, "b");
    if (!b && a->received.size() >= 200) b = Join("g4", "flow");
  }
  std::set<std::string> seen;
  ASSERT_TRUE(PollUntil(
      {},
      [&] {
        process(*a, "a");
        process(*b, "b");
        seen.clear();
        for (const auto& r : a->received) seen.insert(r.value);
        for (const auto& r : b->received) seen.insert(r.value);
        return seen.size() >= published.size();
      },
      under_test_.group_deadline * 2))
      << seen.size() << " of " << published.size();
  EXPECT_EQ(seen, std::set<std::string>(published.begin(), published.end()));
  EXPECT_EQ(redelivered_committed, 0);
  EXPECT_GE(a->listener.revoked_calls, 1);
  EXPECT_GE(b->listener.assigned_calls, 1);
  EXPECT_FALSE(b->received.empty());
  EXPECT_EQ(a->unowned_records + b->unowned_records, 0);
}

TEST_P(EventBusContract, LagCountsTheRecordsOfOwnedPartitionsNotPolledYet) {
  CreateTopic("lag", 1);
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  auto published = PublishKeyed(**producer, "lag", 1, 10);
  auto a = Join("g7", "lag");
  ASSERT_NE(a, nullptr);
  auto deadline = under_test_.group_deadline + std::chrono::seconds(10);
  auto end = std::chrono::steady_clock::now() + deadline;
  while (a->received.empty() && std::chrono::steady_clock::now() < end) a->PollOnce(50, 1);
  ASSERT_EQ(a->received.size(), 1u);
  EXPECT_EQ(a->consumer->Lag(), (std::map<int32_t, int64_t>{{0, 9}}));
  while (a->received.size() < 2 && std::chrono::steady_clock::now() < end) a->PollOnce(50, 1);
  EXPECT_EQ(a->consumer->Lag(), (std::map<int32_t, int64_t>{{0, 8}}));
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->received.size() >= published.size(); }, deadline));
  EXPECT_EQ(a->consumer->Lag(), (std::map<int32_t, int64_t>{{0, 0}}));
  ASSERT_TRUE(a->consumer->Close().ok());
  EXPECT_TRUE(a->consumer->Lag().empty());  // owns nothing any more
}

TEST_P(EventBusContract, CommitOfAPartitionNotOwnedIsAborted) {
  CreateTopic("fence", 2);
  auto a = Join("g5", "fence");
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->listener.owned.size() == 2; }, under_test_.group_deadline * 2));
  EXPECT_EQ(a->consumer->Commit(7, 0).code(), Code::kAborted);
  ASSERT_TRUE(a->consumer->Close().ok());
  EXPECT_EQ(a->consumer->Commit(0, 0).code(), Code::kAborted);
}

TEST_P(EventBusContract, ADroppedConsumersPartitionsGoToTheRestOfTheGroup) {
  CreateTopic("drop", 4);
  auto a = Join("g6", "drop");
  auto b = Join("g6", "drop");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(PollUntil(
      {a.get(), b.get()}, [&] { return !a->listener.owned.empty() && !b->listener.owned.empty(); },
      under_test_.group_deadline * 3));
  b.reset();  // destroyed without Close: it leaves the group all the same
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok());
  auto published = PublishKeyed(**producer, "drop", 8, 10);
  // Distinct values: what A read of its first partitions before the
  // rebalance was not committed, so an eager rebalance delivers it again.
  std::set<std::string> seen;
  ASSERT_TRUE(PollUntil(
      {a.get()},
      [&] {
        for (const auto& r : a->received) seen.insert(r.value);
        return a->listener.owned.size() == 4 && seen.size() >= published.size();
      },
      under_test_.group_deadline * 2))
      << a->listener.owned.size() << " partitions, " << seen.size() << " records";
  EXPECT_EQ(seen, std::set<std::string>(published.begin(), published.end()));
  EXPECT_EQ(a->unowned_records, 0);
}

TEST_P(EventBusContract, AGroupStartingAtLatestSkipsTheHistoryUntilItHasCommitted) {
  CreateTopic("inbox", 2);
  auto producer = bus().CreateProducer();
  ASSERT_TRUE(producer.ok());
  PublishKeyed(**producer, "inbox", 8, 5);  // before the group exists: never delivered
  auto a = Join("g7", "inbox", ConsumerOptions{.start_at_latest = true});
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->listener.owned.size() == 2; }, under_test_.group_deadline * 2));
  auto fresh = PublishKeyed(**producer, "inbox", 8, 5, 5);
  ASSERT_TRUE(PollUntil(
      {a.get()}, [&] { return a->received.size() >= fresh.size(); }, under_test_.group_deadline))
      << a->received.size() << " of " << fresh.size();
  std::vector<std::string> got;
  for (const auto& r : a->received) got.push_back(r.value);
  EXPECT_EQ(std::multiset<std::string>(got.begin(), got.end()),
            std::multiset<std::string>(fresh.begin(), fresh.end()));
  std::map<int32_t, int64_t> committed;
  CommitProcessed(*a, a->received, committed);
  ASSERT_EQ(committed.size(), 2u);
  ASSERT_TRUE(a->consumer->Close().ok());
  a.reset();

  // The group has committed offsets now: a new member resumes from them and
  // gets what was published while the group had no member.
  auto missed = PublishKeyed(**producer, "inbox", 8, 3, 10);
  auto b = Join("g7", "inbox", ConsumerOptions{.start_at_latest = true});
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(PollUntil(
      {b.get()}, [&] { return b->received.size() >= missed.size(); },
      under_test_.group_deadline * 2))
      << b->received.size() << " of " << missed.size();
  got.clear();
  for (const auto& r : b->received) got.push_back(r.value);
  EXPECT_EQ(std::multiset<std::string>(got.begin(), got.end()),
            std::multiset<std::string>(missed.begin(), missed.end()));
}

}  // namespace flare
