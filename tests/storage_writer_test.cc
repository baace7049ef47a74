#include "services/storage/writer/storage_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>

#include "adapters/memory/memory_store.h"
#include "common/ids.h"
#include "support/faulty_store.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

StorageWriterOptions Options(size_t max_batch, size_t max_pending) {
  StorageWriterOptions o;
  o.max_batch = max_batch;
  o.max_pending = max_pending;
  return o;
}

// Collects outcomes; Wait blocks until `n` have arrived (or fails the test).
class Outcomes final : public CommandReplies, public StoredListener {
 public:
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    const std::string& request_id = to.request_id;
    std::lock_guard lock(mu_);
    CommandOutcome copy = outcome;  // `stored` is only valid during this call
    copy.message = outcome.result();
    copy.stored = nullptr;
    outcomes_[request_id] = std::move(copy);
    cv_.notify_all();
  }
  void OnStored(std::vector<CommittedMessage>& messages) override {
    std::lock_guard lock(mu_);
    for (const auto& m : messages) stored_.push_back(m.stored.message.seq());
  }
  std::map<std::string, CommandOutcome> Wait(size_t n) {
    std::unique_lock lock(mu_);
    bool done = cv_.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes_.size() >= n; });
    EXPECT_TRUE(done) << "only " << outcomes_.size() << " of " << n << " outcomes arrived";
    return outcomes_;
  }
  std::vector<int64_t> stored() {
    std::lock_guard lock(mu_);
    return stored_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, CommandOutcome> outcomes_;
  std::vector<int64_t> stored_;
};

class StorageWriterTest : public ::testing::Test {
 protected:
  StorageWriterTest()
      : faulty_(memory_), writer_(faulty_, memory_, clock_, Options(64, 1000), nullptr) {
    writer_.SetListener(outcomes_.get());
    writer_.SetReplies(outcomes_.get());
  }
  Command Send(const std::string& rid, const std::string& conv, const std::string& cmid) {
    Command c;
    c.tenant = "t";
    c.actor = "alice";
    SendCommand send;
    send.message.set_conversation_id(conv);
    send.message.set_sender("alice");
    send.message.set_client_msg_id(cmid);
    send.members = {"alice", "bob"};
    c.body = std::move(send);
    c.reply = {"gw", 1, rid};
    return c;
  }

  // Stores one of alice's messages directly, as if written before.
  Status StoreEarlier(const std::string& conv, int64_t seq, const std::string& cmid) {
    WriteBatch earlier;
    StoredMessage sm;
    sm.tenant = "t";
    sm.message.set_conversation_id(conv);
    sm.message.set_seq(seq);
    sm.message.set_sender("alice");
    sm.message.set_client_msg_id(cmid);
    sm.message.set_server_msg_id("01EARLIER");
    earlier.messages.push_back(std::move(sm));
    return memory_.Write(earlier);
  }

  ManualClock clock_;
  MemoryStore memory_;
  testing::FaultyStore faulty_;
  std::shared_ptr<Outcomes> outcomes_ = std::make_shared<Outcomes>();
  StorageWriter writer_;
};

TEST_F(StorageWriterTest, AssignsContiguousSeqPerConversation) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(writer_.Submit(Send("a" + std::to_string(i), "c1", "ka" + std::to_string(i))).ok());
    ASSERT_TRUE(writer_.Submit(Send("b" + std::to_string(i), "c2", "kb" + std::to_string(i))).ok());
  }
  writer_.Start();
  auto out = outcomes_->Wait(20);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(out["a" + std::to_string(i)].message.seq(), i + 1);
    EXPECT_EQ(out["b" + std::to_string(i)].message.seq(), i + 1);
    EXPECT_EQ(out["a" + std::to_string(i)].message.server_msg_id().size(), 26u);
  }
  writer_.Stop();
  EXPECT_EQ(*memory_.MaxSeq("t", "c1"), 10);
  EXPECT_EQ(*memory_.Members("t", "c1"), (std::vector<std::string>{"alice", "bob"}));
}

// After an assignment the writer knows no conversation: a batch's seqs
// must not cost one storage read per conversation.
TEST_F(StorageWriterTest, ABatchReadsTheMaxSeqsOfItsConversationsInOneCall) {
  WriteBatch earlier;
  for (int c = 0; c < 20; c += 2) {  // half the conversations have history
    StoredMessage sm;
    sm.tenant = "t";
    sm.message.set_conversation_id("c" + std::to_string(c));
    sm.message.set_seq(5);
    sm.message.set_sender("bob");
    sm.message.set_client_msg_id("old" + std::to_string(c));
    earlier.messages.push_back(sm);
  }
  ASSERT_TRUE(memory_.Write(earlier).ok());
  for (int c = 0; c < 20; ++c) {
    std::string id = std::to_string(c);
    ASSERT_TRUE(writer_.Submit(Send("r" + id, "c" + id, "k" + id)).ok());
  }
  writer_.Start();  // all twenty in one batch
  auto out = outcomes_->Wait(20);
  for (int c = 0; c < 20; ++c) {
    EXPECT_EQ(out["r" + std::to_string(c)].message.seq(), c % 2 == 0 ? 6 : 1) << c;
  }
  EXPECT_EQ(faulty_.max_seqs_calls(), 1);
  EXPECT_EQ(faulty_.max_seq_calls(), 0);
  writer_.Stop();
}

TEST_F(StorageWriterTest, RetryWithTheSameClientMsgIdIsOneMessage) {
  writer_.Start();
  ASSERT_TRUE(writer_.Submit(Send("first", "c1", "same")).ok());
  ASSERT_TRUE(writer_.Submit(Send("retry-in-batch", "c1", "same")).ok());
  outcomes_->Wait(2);
  ASSERT_TRUE(writer_.Submit(Send("retry-later", "c1", "same")).ok());
  auto out = outcomes_->Wait(3);
  EXPECT_FALSE(out["first"].duplicate);
  EXPECT_TRUE(out["retry-in-batch"].duplicate);
  EXPECT_TRUE(out["retry-later"].duplicate);
  for (const auto& [rid, o] : out) {
    EXPECT_TRUE(o.status.ok());
    EXPECT_EQ(o.message.seq(), 1) << rid;
    EXPECT_EQ(o.message.server_msg_id(), out["first"].message.server_msg_id());
  }
  writer_.Stop();
  EXPECT_EQ(*memory_.MaxSeq("t", "c1"), 1);
  EXPECT_EQ(outcomes_->stored(), std::vector<int64_t>{1});  // pushed once
}

// Almost every key is new: the store's unique key is what finds a repeat,
// so a batch of new keys costs no idempotency read, and a repeat one.
TEST_F(StorageWriterTest, OnlyARepeatCostsAnIdempotencyRead) {
  writer_.Start();
  for (int i = 0; i < 5; ++i) {
    std::string id = std::to_string(i);
    ASSERT_TRUE(writer_.Submit(Send("new" + id, "c" + id, "k" + id)).ok());
  }
  outcomes_->Wait(5);
  EXPECT_EQ(faulty_.key_lookups(), 0);
  ASSERT_TRUE(writer_.Submit(Send("repeat", "c3", "k3")).ok());
  ASSERT_TRUE(writer_.Submit(Send("next", "c3", "k-next")).ok());
  auto out = outcomes_->Wait(7);
  EXPECT_GE(faulty_.key_lookups(), 1);
  EXPECT_TRUE(out["repeat"].duplicate);
  EXPECT_EQ(out["repeat"].message.seq(), 1);
  EXPECT_EQ(out["repeat"].message.server_msg_id(), out["new3"].message.server_msg_id());
  EXPECT_TRUE(out["next"].status.ok());
  EXPECT_EQ(out["next"].message.seq(), 2);  // the repeat took no seq
  writer_.Stop();
  EXPECT_EQ(*memory_.MaxSeq("t", "c3"), 2);
}

// The store refuses a batch holding a repeat; the batch is staged again
// from the same commands, and the new messages in it lose nothing.
TEST_F(StorageWriterTest, ABatchStagedAgainKeepsItsNewMessagesWhole) {
  ASSERT_TRUE(StoreEarlier("c1", 1, "stored-before").ok());
  Command fresh = Send("fresh", "c1", "new-key");
  std::get<SendCommand>(fresh.body).message.mutable_content()->set_text("hello");
  ASSERT_TRUE(writer_.Submit(std::move(fresh)).ok());
  ASSERT_TRUE(writer_.Submit(Send("repeat", "c1", "stored-before")).ok());
  writer_.Start();  // one batch
  auto out = outcomes_->Wait(2);
  EXPECT_TRUE(out["repeat"].duplicate);
  EXPECT_EQ(out["repeat"].message.server_msg_id(), "01EARLIER");
  ASSERT_TRUE(out["fresh"].status.ok());
  EXPECT_EQ(out["fresh"].message.seq(), 2);
  writer_.Stop();
  auto stored = memory_.Get("t", "c1", 2);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->content().text(), "hello");
  EXPECT_EQ((*stored)->client_msg_id(), "new-key");
  EXPECT_EQ((*stored)->server_msg_id(), out["fresh"].message.server_msg_id());
  EXPECT_EQ(*memory_.MaxSeq("t", "c1"), 2);
}

// A stream batch staged a second time (here: a refused send whose key is
// already stored) is still fenced by the partition claims it was admitted
// under: a writer whose partition was claimed by another stores nothing.
TEST_F(StorageWriterTest, ABatchStagedAgainIsStillFencedByItsPartitionClaim) {
  ASSERT_TRUE(StoreEarlier("c1", 1, "stored-before").ok());
  auto mine = memory_.ClaimPartition(0);
  ASSERT_TRUE(mine.ok());
  writer_.ClaimPartition(0, *mine, 0);
  ASSERT_TRUE(memory_.ClaimPartition(0).ok());  // another writer took it over

  Command refused = Send("refused", "g-missing", "stored-before");
  std::get<SendCommand>(refused.body)
      .message.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);  // not a member: refused
  Command fresh = Send("fresh", "c2", "new-key");
  for (Command* c : {&refused, &fresh}) c->source = {0, 1, 1};
  ASSERT_TRUE(writer_.Submit(std::move(refused)).ok());
  ASSERT_TRUE(writer_.Submit(std::move(fresh)).ok());
  writer_.Start();  // one batch, staged twice
  writer_.Stop();
  EXPECT_GE(faulty_.key_lookups(), 1);  // it was staged again
  EXPECT_GE(faulty_.aborted_writes(), 1);
  EXPECT_EQ(*memory_.MaxSeq("t", "c2"), 0);  // nothing stored by the fenced writer
}

TEST_F(StorageWriterTest, FailedCommitReportsUnavailableAndLeavesNoGap) {
  faulty_.FailNextWrites(1);
  writer_.Start();
  ASSERT_TRUE(writer_.Submit(Send("lost", "c1", "k1")).ok());
  auto out = outcomes_->Wait(1);
  EXPECT_EQ(out["lost"].status.code(), Code::kUnavailable);
  EXPECT_TRUE(outcomes_->stored().empty());  // nothing pushed that is not stored

  ASSERT_TRUE(writer_.Submit(Send("retried", "c1", "k1")).ok());
  out = outcomes_->Wait(2);
  EXPECT_TRUE(out["retried"].status.ok());
  EXPECT_EQ(out["retried"].message.seq(), 1);  // the failed batch did not use up seq 1
  writer_.Stop();
}

TEST_F(StorageWriterTest, StopCommitsWhatIsQueuedAndRefusesNewWork) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(writer_.Submit(Send(std::to_string(i), "c1", "k" + std::to_string(i))).ok());
  }
  writer_.Start();
  writer_.Stop();
  EXPECT_EQ(outcomes_->Wait(100).size(), 100u);
  EXPECT_EQ(*memory_.MaxSeq("t", "c1"), 100);
  EXPECT_EQ(writer_.Submit(Send("late", "c1", "late")).code(), Code::kUnavailable);
}

TEST_F(StorageWriterTest, MessageOpTargetsAreReadOncePerConversationAndBatch) {
  WriteBatch stored;
  for (int seq = 1; seq <= 3; ++seq) {
    StoredMessage sm;
    sm.tenant = "t";
    sm.message.set_conversation_id(SingleConversationId("alice", "bob"));
    sm.message.set_seq(seq);
    sm.message.set_sender("bob");
    sm.message.set_client_msg_id("m" + std::to_string(seq));
    stored.messages.push_back(std::move(sm));
  }
  ASSERT_TRUE(memory_.Write(stored).ok());
  for (int seq = 1; seq <= 3; ++seq) {  // queued before Start: one batch
    Command c;
    c.tenant = "t";
    c.actor = "alice";
    pb::MessageOpRequest op;
    op.set_conversation_id(SingleConversationId("alice", "bob"));
    op.set_target_seq(seq);
    op.mutable_reaction()->set_emoji("+1");
    op.mutable_reaction()->set_add(true);
    c.body = MessageOpCommand{op};
    c.reply = {"gw", 1, "op" + std::to_string(seq)};
    ASSERT_TRUE(writer_.Submit(std::move(c)).ok());
  }
  writer_.Start();
  auto out = outcomes_->Wait(3);
  for (const auto& [rid, o] : out) EXPECT_TRUE(o.status.ok()) << rid << o.status.ToString();
  EXPECT_EQ(faulty_.get_many_calls(), 1);
  writer_.Stop();
}

TEST(StorageWriterLimits, FullQueueRefusesWithUnavailable) {
  ManualClock clock;
  MemoryStore store;
  StorageWriter writer(store, store, clock, Options(8, 2), nullptr);  // not started: nothing drains
  Command m;
  m.tenant = "t";
  m.body = SendCommand{};
  EXPECT_TRUE(writer.Submit(m).ok());
  EXPECT_TRUE(writer.Submit(m).ok());
  EXPECT_EQ(writer.Submit(m).code(), Code::kUnavailable);
}

}  // namespace
}  // namespace flare
