// Storage writers over an ingest stream (IngestConsumer + StorageWriter +
// BusIngest), run against each EventBus adapter: every command is stored
// once and answered with the seq that was stored, and a writer paused in
// the middle of a commit while its partitions moved to another writer
// cannot commit anything when it resumes. A test binary instantiates
// FencedWriters with a name and an EventBusFactory.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/memory/memory_store.h"
#include "common/clock.h"
#include "common/ids.h"
#include "event_bus_contract.h"
#include "services/message_orchestrator/bus_ingest.h"
#include "services/storage/writer/ingest_consumer.h"
#include "support/faulty_store.h"

namespace flare {
namespace {

constexpr const char* kTopic = "flare.ingest";
constexpr int32_t kPartitions = 4;
constexpr int kConversations = 40;  // spread over every partition

// Waits (yielding, never sleeping) until `done` holds; false at the deadline.
template <typename Done>
bool Eventually(Done done, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

struct Answer {
  Status status;
  std::string conversation_id;
  int64_t seq = 0;
};

// The gateway's side: every outcome, by request id.
class AnswerBook final : public CommandReplies {
 public:
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    std::lock_guard lock(mu_);
    const Message& m = outcome.result();
    answers_[to.request_id].push_back({outcome.status, m.conversation_id(), m.seq()});
    cv_.notify_all();
  }
  // True once every one of `requests` has at least one answer.
  bool WaitForAll(const std::vector<std::string>& requests, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] {
      for (const auto& r : requests) {
        if (answers_.find(r) == answers_.end()) return false;
      }
      return true;
    });
  }
  std::map<std::string, std::vector<Answer>> answers() {
    std::lock_guard lock(mu_);
    return answers_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Answer>> answers_;
};

// One storage-writer process: its own view of the shared database (so
// its writes can be paused), its writer and its member of the group.
struct WriterNode {
  WriterNode(EventBus& bus, MemoryStore& shared, CommandReplies& replies, const Clock& clock,
             IngestConsumerOptions consumer_options = ConsumerOptions())
      : store(shared), writer(store, shared, clock, Options(), nullptr) {
    writer.SetReplies(&replies);
    consumer = std::make_unique<IngestConsumer>(bus, store, writer, clock, consumer_options);
    writer.Start();
    EXPECT_TRUE(consumer->Start().ok());
  }
  ~WriterNode() {
    store.OpenWriteGate();
    consumer->Stop();
    writer.Stop();
  }
  static StorageWriterOptions Options() {
    StorageWriterOptions o;
    o.on_fatal = [](const Status& st) { ADD_FAILURE() << "fatal: " << st.ToString(); };
    return o;
  }
  static IngestConsumerOptions ConsumerOptions() {
    IngestConsumerOptions o;
    o.topic = kTopic;
    o.poll_timeout_ms = 20;
    return o;
  }

  testing::FaultyStore store;
  StorageWriter writer;
  std::unique_ptr<IngestConsumer> consumer;
};

class FencedWriters : public ::testing::TestWithParam<std::pair<std::string, EventBusFactory>> {
 protected:
  void SetUp() override {
    t_ = GetParam().second();
    ASSERT_TRUE(t_.bus);
    auto create = t_.create_topic ? t_.create_topic : [this](const std::string& n, int32_t p) {
      return t_.bus->CreateTopic(n, p);
    };
    ASSERT_TRUE(create(kTopic, kPartitions).ok());
    auto producer = t_.bus->CreateProducer();
    ASSERT_TRUE(producer.ok());
    ingest_ = std::make_unique<BusIngest>(std::move(*producer), kTopic, book_);
  }
  void TearDown() override {
    if (ingest_) (void)ingest_->Flush(10'000);
  }

  // Sends request i: from alice to one of kConversations peers.
  std::string Send(int i) {
    Command c;
    c.tenant = "t";
    c.actor = "alice";
    std::string peer = "p" + std::to_string(i % kConversations);
    SendCommand send;
    send.message.set_conversation_id(SingleConversationId("alice", peer));
    send.message.set_conversation_type(::flare::client::v1::CONVERSATION_TYPE_SINGLE);
    send.message.set_sender("alice");
    send.message.set_client_msg_id("k" + std::to_string(i));
    send.members = {"alice", peer};
    c.body = std::move(send);
    std::string request = "r" + std::to_string(i);
    c.reply = {"gw", 1, request};
    EXPECT_TRUE(ingest_->Submit(std::move(c)).ok());
    requests_.push_back(request);
    return request;
  }
  void SendRange(int from, int to) {
    for (int i = from; i < to; ++i) Send(i);
    ASSERT_TRUE(ingest_->Flush(10'000).ok());
  }
  std::chrono::milliseconds Deadline() const { return t_.group_deadline * 3; }

  // No duplicate, no gap, and every answer is the seq its message has.
  void ExpectStoredOnceAndAnsweredTruly() {
    auto answers = book_.answers();
    std::map<std::string, int64_t> stored_count;
    for (int c = 0; c < kConversations; ++c) {
      std::string conv = SingleConversationId("alice", "p" + std::to_string(c));
      auto all = shared_.ReadAfter("t", conv, 0, 100'000);
      ASSERT_TRUE(all.ok());
      for (size_t i = 0; i < all->size(); ++i) {
        const Message& m = (*all)[i];
        EXPECT_EQ(m.seq(), static_cast<int64_t>(i) + 1) << conv << ": a gap or an overwrite";
        EXPECT_EQ(++stored_count[m.client_msg_id()], 1) << m.client_msg_id() << " stored twice";
        std::string request = "r" + m.client_msg_id().substr(1);
        for (const auto& a : answers[request]) {
          EXPECT_TRUE(a.status.ok()) << request << ": " << a.status.ToString();
          EXPECT_EQ(a.conversation_id, conv);
          EXPECT_EQ(a.seq, m.seq()) << request << " was acked a seq it was not stored at";
        }
      }
    }
    EXPECT_EQ(stored_count.size(), requests_.size()) << "a command was lost";
  }

  EventBusUnderTest t_;
  MemoryStore shared_;  // the database every writer writes to
  AnswerBook book_;
  ManualClock clock_;
  std::unique_ptr<BusIngest> ingest_;
  std::vector<std::string> requests_;
};

TEST_P(FencedWriters, EveryCommandIsStoredOnceAndAnsweredWithItsSeq) {
  WriterNode writer(*t_.bus, shared_, book_, clock_);
  SendRange(0, 300);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  ExpectStoredOnceAndAnsweredTruly();
}

TEST_P(FencedWriters, RecordsTheWriterHasNotReadYetAreReportedAsLag) {
  Gauge lag;
  IngestConsumerOptions options = WriterNode::ConsumerOptions();
  options.max_poll_records = 10;
  options.max_in_flight = 10;
  options.lag_records = &lag;
  WriterNode writer(*t_.bus, shared_, book_, clock_, options);
  SendRange(0, 1);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  EXPECT_EQ(lag.Value(), 0);
  // A stuck commit: the consumer reads at most 10 + 9 more and waits.
  writer.store.CloseWriteGate();
  SendRange(1, 201);
  EXPECT_TRUE(Eventually([&] { return lag.Value() >= 200 - 19; }, Deadline())) << lag.Value();
  EXPECT_LE(lag.Value(), 200 - 10);
  writer.store.OpenWriteGate();
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  EXPECT_TRUE(Eventually([&] { return lag.Value() == 0; }, Deadline())) << lag.Value();
  ExpectStoredOnceAndAnsweredTruly();
}

TEST_P(FencedWriters, EachWriterReportsThePartitionsItOwns) {
  Gauge first_owned, second_owned;
  IngestConsumerOptions first_options = WriterNode::ConsumerOptions();
  first_options.partitions_owned = &first_owned;
  IngestConsumerOptions second_options = WriterNode::ConsumerOptions();
  second_options.partitions_owned = &second_owned;
  auto first = std::make_unique<WriterNode>(*t_.bus, shared_, book_, clock_, first_options);
  EXPECT_TRUE(Eventually([&] { return first_owned.Value() == kPartitions; }, Deadline()))
      << first_owned.Value();
  {
    WriterNode second(*t_.bus, shared_, book_, clock_, second_options);
    EXPECT_TRUE(Eventually(
        [&] {
          return second_owned.Value() > 0 &&
                 first_owned.Value() + second_owned.Value() == kPartitions;
        },
        Deadline()))
        << first_owned.Value() << " + " << second_owned.Value();
  }
  // The second one left: its partitions went back to the first.
  EXPECT_EQ(second_owned.Value(), 0);
  EXPECT_TRUE(Eventually([&] { return first_owned.Value() == kPartitions; }, Deadline()))
      << first_owned.Value();
  SendRange(0, 20);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  ExpectStoredOnceAndAnsweredTruly();
}

TEST_P(FencedWriters, AWriterPausedWhileItsPartitionsMovedCannotCommitWhenItResumes) {
  WriterNode old_writer(*t_.bus, shared_, book_, clock_);
  SendRange(0, 50);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));

  // The old writer stages a batch with commands of every partition and
  // stops right before committing it.
  old_writer.store.CloseWriteGate();
  SendRange(50, 51);
  ASSERT_TRUE(old_writer.store.WaitForWriteAtGate(1));
  SendRange(51, 251);
  ASSERT_TRUE(Eventually([&] { return old_writer.consumer->submitted() >= 251; }, Deadline()));
  old_writer.store.LetWritesThrough(1);
  ASSERT_TRUE(old_writer.store.WaitForWriteAtGate(2));

  // Meanwhile a second writer joins; some partitions move to it and it
  // claims them. Then the paused writer resumes and tries to commit.
  WriterNode new_writer(*t_.bus, shared_, book_, clock_);
  ASSERT_TRUE(Eventually([&] { return new_writer.store.writes() > 0; }, Deadline()));
  old_writer.store.OpenWriteGate();

  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline())) << "not every sender got an answer";
  EXPECT_GE(old_writer.store.aborted_writes(), 1) << "the paused writer's batch was not fenced";
  // It leaves the group and joins again (on Kafka the eager rebalance may
  // already have handed its partitions back before that).
  EXPECT_TRUE(Eventually([&] { return old_writer.consumer->rejoins() >= 1; }, Deadline()));
  ExpectStoredOnceAndAnsweredTruly();
}

// A write whose outcome is unknown (the connection broke during COMMIT) is
// not answered "retry": the stream redelivers it and its keys tell.
TEST_P(FencedWriters, ABatchWithAnUnknownOutcomeIsRedeliveredNotAnsweredAsFailed) {
  WriterNode writer(*t_.bus, shared_, book_, clock_);
  SendRange(0, 20);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  writer.store.FailNextWrites(1, Unavailable("connection lost during COMMIT"));
  SendRange(20, 120);
  ASSERT_TRUE(book_.WaitForAll(requests_, Deadline()));
  EXPECT_GE(writer.consumer->rejoins(), 1u);
  ExpectStoredOnceAndAnsweredTruly();
}

}  // namespace
}  // namespace flare
