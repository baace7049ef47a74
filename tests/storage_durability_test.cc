// What "acked" means: a reply leaves only after its batch is durable, a
// failed sync stops the writer, readers see only durable messages, and
// (SQLite on a VFS that simulates power loss) every acked message survives.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>

#include "adapters/memory/memory_store.h"
#include "adapters/sqlite/sqlite_store.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "services/session/session_service.h"
#include "services/storage/reader/storage_reader.h"
#include "services/storage/writer/storage_writer.h"
#include "support/fault_vfs.h"
#include "support/faulty_store.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

// Collects outcomes; `on_ok` runs for each successful one, inside the
// writer's completion call (before the reply would leave).
class Acks final : public CommandReplies, public StoredListener {
 public:
  std::function<void(const Message&)> on_ok;

  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    const std::string& rid = to.request_id;
    if (outcome.status.ok() && on_ok) on_ok(outcome.result());
    std::lock_guard lock(mu_);
    statuses_[rid] = outcome.status;
    if (outcome.status.ok() && !outcome.duplicate) acked_[rid] = outcome.result();
    cv_.notify_all();
  }
  void OnStored(std::vector<CommittedMessage>& messages) override {
    std::lock_guard lock(mu_);
    pushed_ += messages.size();
  }
  void Wait(size_t n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return statuses_.size() >= n; }))
        << statuses_.size() << " of " << n << " outcomes";
  }
  std::map<std::string, Message> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  Status status(const std::string& rid) {
    std::lock_guard lock(mu_);
    return statuses_.at(rid);
  }
  size_t pushed() {
    std::lock_guard lock(mu_);
    return pushed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Status> statuses_;
  std::map<std::string, Message> acked_;
  size_t pushed_ = 0;
};

Command Send(const std::string& rid, const std::string& peer, const std::string& cmid) {
  Command c;
  c.tenant = "t";
  c.actor = "alice";
  SendCommand send;
  send.message.set_conversation_id(SingleConversationId("alice", peer));
  send.message.set_conversation_type(pb::CONVERSATION_TYPE_SINGLE);
  send.message.set_sender("alice");
  send.message.set_client_msg_id(cmid);
  send.message.mutable_content()->set_text("text of " + cmid);
  send.members = {"alice", peer};
  c.body = std::move(send);
  c.reply = {"gw", 1, rid};
  return c;
}

// A batch of one message at `seq` of conversation "c".
WriteBatch MessageAt(int64_t seq, const std::string& text) {
  WriteBatch batch;
  StoredMessage sm;
  sm.tenant = "t";
  sm.message.set_conversation_id("c");
  sm.message.set_seq(seq);
  sm.message.set_sender("alice");
  sm.message.set_client_msg_id("k" + std::to_string(seq - 1));
  sm.message.mutable_content()->set_text(text);
  batch.messages.push_back(std::move(sm));
  return batch;
}

StorageWriterOptions Options(std::vector<Status>* fatal) {
  StorageWriterOptions o;
  o.max_batch = 16;
  o.on_fatal = [fatal](const Status& st) { fatal->push_back(st); };
  return o;
}

class WriterDurability : public ::testing::Test {
 protected:
  WriterDurability()
      : faulty_(memory_), writer_(faulty_, memory_, clock_, Options(&fatal_), nullptr) {
    writer_.SetListener(acks_.get());
    writer_.SetReplies(acks_.get());
    writer_.SetFence(&fence_);
  }
  ~WriterDurability() override { writer_.Stop(); }

  ManualClock clock_;
  MemoryStore memory_;
  testing::FaultyStore faulty_;
  DurableFence fence_;
  std::vector<Status> fatal_;  // written by the syncer; read after Stop or an outcome
  std::shared_ptr<Acks> acks_ = std::make_shared<Acks>();
  StorageWriter writer_;
};

TEST_F(WriterDurability, EveryAckLeavesAfterASyncThatCoversItsBatch) {
  std::atomic<int> early{0};
  acks_->on_ok = [&](const Message& m) {
    if (!faulty_.IsDurable("t", m.conversation_id(), m.seq())) ++early;
  };
  writer_.Start();
  for (int i = 0; i < 500; ++i) {
    std::string id = std::to_string(i);
    ASSERT_TRUE(writer_.Submit(Send(id, "p" + std::to_string(i % 7), "k" + id)).ok());
  }
  acks_->Wait(500);
  EXPECT_EQ(acks_->acked().size(), 500u);
  EXPECT_EQ(early.load(), 0) << "acks sent before their batch was synced";
  EXPECT_GT(faulty_.syncs(), 0);
}

TEST_F(WriterDurability, AFailedSyncStopsTheWriterWithoutAckingOrPushing) {
  faulty_.FailNextSyncs(1);
  writer_.Start();
  ASSERT_TRUE(writer_.Submit(Send("lost", "bob", "k1")).ok());
  acks_->Wait(1);
  EXPECT_EQ(acks_->status("lost").code(), Code::kUnavailable);
  EXPECT_TRUE(writer_.failed());
  // A retry is refused: it must not be answered "duplicate" from a batch
  // whose durability is unknown.
  EXPECT_EQ(writer_.Submit(Send("retry", "bob", "k1")).code(), Code::kUnavailable);
  writer_.Stop();
  EXPECT_EQ(acks_->pushed(), 0u);
  ASSERT_EQ(fatal_.size(), 1u);
  EXPECT_NE(fatal_[0].message().find("fsync"), std::string::npos);
  // Nothing of the failed batch is ever served to a reader.
  EXPECT_EQ(fence_.VisibleUpTo("t", SingleConversationId("alice", "bob")), 0);
}

TEST_F(WriterDurability, AFailedCheckpointDoesNotFailCommittedBatches) {
  faulty_.FailNextCheckpoints(1000);
  writer_.Start();
  for (int i = 0; i < 50; ++i) {
    std::string id = std::to_string(i);
    ASSERT_TRUE(writer_.Submit(Send(id, "bob", "k" + id)).ok());
  }
  acks_->Wait(50);
  writer_.Stop();  // pushes follow the replies of a batch
  EXPECT_EQ(acks_->acked().size(), 50u);
  EXPECT_EQ(acks_->pushed(), 50u);
}

TEST_F(WriterDurability, ReadersServeOnlyDurableMessages) {
  ConversationAccess access(memory_);
  LocalStorageReader reader(memory_, access, {}, &fence_);
  LocalSessionService sessions(memory_, memory_, {}, &fence_);
  Principal bob{"t", "bob", "d1", "ios"};
  pb::SyncRequest request;
  request.set_peer_user_id("alice");

  writer_.Start();
  ASSERT_TRUE(writer_.Submit(Send("first", "bob", "k1")).ok());
  acks_->Wait(1);
  faulty_.CloseSyncGate();
  ASSERT_TRUE(writer_.Submit(Send("second", "bob", "k2")).ok());
  faulty_.WaitForSyncAtGate();  // committed, visible to the store's readers, not durable

  auto page = reader.Sync(bob, request);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages_size(), 1);
  EXPECT_EQ(page->max_seq(), 1);
  auto boot = sessions.Bootstrap(bob);
  ASSERT_TRUE(boot.ok());
  ASSERT_EQ(boot->conversations_size(), 1);
  EXPECT_EQ(boot->conversations(0).max_seq(), 1);
  EXPECT_EQ(boot->conversations(0).unread(), 1);
  EXPECT_EQ(boot->conversations(0).last_message().client_msg_id(), "k1");

  faulty_.OpenSyncGate();
  acks_->Wait(2);
  page = reader.Sync(bob, request);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages_size(), 2);
  EXPECT_EQ(page->max_seq(), 2);
  EXPECT_EQ(fence_.held_conversations(), 0u);
}

// SQLite over a VFS that can lose power.
class SqlitePowerLoss : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/flare_powerloss_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    testing::FaultVfs::Get().Restore();
  }
  void TearDown() override {
    testing::FaultVfs::Get().Restore();
    std::filesystem::remove_all(dir_);
  }
  std::shared_ptr<SqliteStore> Open(bool faulty) {
    SqliteOptions options;
    if (faulty) options.vfs = testing::FaultVfs::kName;
    options.checkpoint_wal_bytes = 1 << 20;  // checkpoints overlap the load and its syncs
    auto store = SqliteStore::Open(dir_ + "/flare.db", options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }
  // Every acked message is stored at its seq with its own id and content.
  void ExpectAllStored(const std::map<std::string, Message>& acked) {
    auto store = Open(false);
    ASSERT_TRUE(store);
    for (const auto& [rid, m] : acked) {
      auto stored = store->Get("t", m.conversation_id(), m.seq());
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
      ASSERT_TRUE(stored->has_value()) << "acked " << m.client_msg_id() << " is lost";
      EXPECT_EQ((*stored)->client_msg_id(), m.client_msg_id());
      EXPECT_EQ((*stored)->content().text(), m.content().text());
    }
  }
  std::string dir_;
};

TEST_F(SqlitePowerLoss, EveryAckedMessageSurvivesAPowerLossUnderLoad) {
  std::vector<Status> fatal;
  auto acks = std::make_shared<Acks>();
  std::atomic<int> ok{0};
  std::map<std::string, Message> acked;
  {
    auto store = Open(true);
    ASSERT_TRUE(store);
    ManualClock clock;
    StorageWriter writer(*store, *store, clock, Options(&fatal), nullptr);
    writer.SetReplies(acks.get());
    acks->on_ok = [&](const Message&) {
      if (++ok == 400) testing::FaultVfs::Get().PowerLoss();  // while batches are in flight
    };
    writer.Start();
    int submitted = 0;
    for (int i = 0; i < 1500; ++i) {
      std::string id = std::to_string(i);
      if (writer.Submit(Send(id, "p" + std::to_string(i % 11), "k" + id)).ok()) ++submitted;
    }
    acks->Wait(static_cast<size_t>(submitted));
    writer.Stop();
    acked = acks->acked();
  }  // the store closes with the power off: nothing of the close reaches the disk
  testing::FaultVfs::Get().Restore();
  ASSERT_GE(acked.size(), 400u);
  ASSERT_EQ(fatal.size(), 1u) << "the first sync after the power loss stops the writer";
  ExpectAllStored(acked);
}

TEST_F(SqlitePowerLoss, ACleanCloseIsDurable) {
  std::vector<Status> fatal;
  auto acks = std::make_shared<Acks>();
  {
    auto store = Open(true);
    ASSERT_TRUE(store);
    ManualClock clock;
    StorageWriter writer(*store, *store, clock, Options(&fatal), nullptr);
    writer.SetReplies(acks.get());
    writer.Start();
    for (int i = 0; i < 300; ++i) {
      std::string id = std::to_string(i);
      ASSERT_TRUE(writer.Submit(Send(id, "p" + std::to_string(i % 5), "k" + id)).ok());
    }
    acks->Wait(300);
    writer.Stop();
  }  // closed cleanly: checkpoint, WAL removed
  testing::FaultVfs::Get().PowerLoss();
  testing::FaultVfs::Get().Restore();
  EXPECT_TRUE(fatal.empty());
  ASSERT_EQ(acks->acked().size(), 300u);
  ExpectAllStored(acks->acked());
}

TEST_F(SqlitePowerLoss, ACheckpointThatFailsNeverFailsAWrite) {
  SqliteOptions options;
  options.vfs = testing::FaultVfs::kName;
  options.checkpoint_wal_bytes = 1 << 20;
  auto store = SqliteStore::Open(dir_ + "/flare.db", options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  testing::FaultVfs::Get().FailSyncsOf("/flare.db");  // the checkpoint's sync of the database
  std::string text(2000, 'x');
  int checkpoint_errors = 0;
  int b = 0;
  for (; b < 2100 && checkpoint_errors == 0; ++b) {
    WriteBatch batch = MessageAt(b + 1, text);
    ASSERT_TRUE((*store)->Write(batch).ok()) << "batch " << b;
    ASSERT_TRUE((*store)->Sync().ok());
    if (!(*store)->Checkpoint().ok()) ++checkpoint_errors;
  }
  EXPECT_EQ(checkpoint_errors, 1);
  EXPECT_EQ(*(*store)->MaxSeq("t", "c"), b);  // every committed batch is there
  // The failed checkpoint's fsync may have dropped pages: no sync can be
  // trusted any more, so none succeeds.
  EXPECT_FALSE((*store)->Sync().ok());
}

TEST_F(SqlitePowerLoss, ACheckpointIsReportedOnlyWhenTheWalPassedItsLimit) {
  auto store = Open(false);
  ASSERT_TRUE(store);
  const std::string wal = dir_ + "/flare.db-wal";
  constexpr uintmax_t kLimit = 1 << 20;  // Open's checkpoint_wal_bytes
  std::string text(2000, 'x');
  int folds = 0;
  for (int b = 0; b < 400; ++b) {
    WriteBatch batch = MessageAt(b + 1, text);
    ASSERT_TRUE(store->Write(batch).ok()) << "batch " << b;
    ASSERT_TRUE(store->Sync().ok());
    uintmax_t before = std::filesystem::file_size(wal);
    auto folded = store->Checkpoint();
    ASSERT_TRUE(folded.ok()) << folded.status().ToString();
    EXPECT_EQ(*folded, before >= kLimit) << "batch " << b << ", WAL of " << before << " bytes";
    if (*folded) {
      ++folds;
      EXPECT_LT(std::filesystem::file_size(wal), 64u << 10);  // truncated
    }
  }
  EXPECT_GE(folds, 2);  // 400 messages of 2 KB are several MiB of WAL
}

TEST_F(SqlitePowerLoss, TheWriterTimesEveryCheckpoint) {
  auto store = Open(false);
  ASSERT_TRUE(store);
  Metrics registry;
  ServerMetrics metrics(registry);
  std::vector<Status> fatal;
  auto acks = std::make_shared<Acks>();
  ManualClock clock;
  StorageWriter writer(*store, *store, clock, Options(&fatal), &metrics);
  writer.SetReplies(acks.get());
  writer.Start();
  std::string text(2000, 'y');
  size_t submitted = 0;
  while (metrics.store_checkpoint_ms.Count() == 0 && submitted < 4000) {
    for (int i = 0; i < 100; ++i, ++submitted) {
      std::string id = std::to_string(submitted);
      Command c = Send(id, "p" + std::to_string(submitted % 7), "k" + id);
      std::get<SendCommand>(c.body).message.mutable_content()->set_text(text);
      ASSERT_TRUE(writer.Submit(std::move(c)).ok());
    }
    acks->Wait(submitted);  // the checkpoint follows the batch, before the next one
  }
  writer.Stop();
  EXPECT_TRUE(fatal.empty());
  // 4,000 messages of 2 KB are 8 MB of WAL: at least one 1 MiB checkpoint.
  EXPECT_GE(metrics.store_checkpoint_ms.Count(), 1);
  EXPECT_LE(metrics.store_checkpoint_ms.Count(), static_cast<int64_t>(submitted / 100));
}

// The writer's checkpoint fails to sync the WAL while the syncer is about to
// sync the same file: the pages it did not write are gone even though the
// syncer's own fsync would now succeed. Nothing after that may be acked.
TEST_F(SqlitePowerLoss, AFailedCheckpointSyncIsFatalToo) {
  std::vector<Status> fatal;
  auto acks = std::make_shared<Acks>();
  std::map<std::string, Message> acked;
  {
    SqliteOptions options;
    options.vfs = testing::FaultVfs::kName;
    options.checkpoint_wal_bytes = 1 << 20;
    auto store = SqliteStore::Open(dir_ + "/flare.db", options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    testing::FaultVfs::Get().FailNextSyncsFromThread("flare-writer", "-wal", 1);
    ManualClock clock;
    StorageWriter writer(**store, **store, clock, Options(&fatal), nullptr);
    writer.SetReplies(acks.get());
    writer.Start();
    int submitted = 0;
    for (int i = 0; i < 1500; ++i) {
      std::string id = std::to_string(i);
      Command c = Send(id, "p" + std::to_string(i % 11), "k" + id);
      std::get<SendCommand>(c.body).message.mutable_content()->set_text(std::string(3000, 'y'));
      if (writer.Submit(std::move(c)).ok()) ++submitted;
    }
    acks->Wait(static_cast<size_t>(submitted));
    writer.Stop();
    acked = acks->acked();
    testing::FaultVfs::Get().PowerLoss();
  }
  testing::FaultVfs::Get().Restore();
  ASSERT_EQ(fatal.size(), 1u) << "the checkpoint's failed sync must stop the writer";
  ASSERT_LT(acked.size(), 1500u);
  ExpectAllStored(acked);
}

}  // namespace
}  // namespace flare
