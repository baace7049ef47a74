// A MessageStore wrapper that injects faults (leveldb's fault-injection
// idea) and records durability: failed writes, syncs and checkpoints on
// demand, syncs held at a gate, and for every stored message whether a
// sync that began after its write has returned. Everything else goes to
// the wrapped store.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <tuple>

#include "ports/message_store.h"

namespace flare::testing {

class FaultyStore final : public MessageStore {
 public:
  explicit FaultyStore(MessageStore& base) : base_(base) {}
  void FailNextWrites(int n, Status with = IoError("injected write failure")) {
    std::lock_guard lock(mu_);
    fail_write_status_ = std::move(with);
    fail_writes_ = n;
  }
  void FailNextSyncs(int n) { fail_syncs_ = n; }
  void FailNextCheckpoints(int n) { fail_checkpoints_ = n; }
  int writes() const { return writes_; }
  int syncs() const { return syncs_; }

  // While closed, Sync() waits (committed batches stay not durable).
  void CloseSyncGate() {
    std::lock_guard lock(mu_);
    gate_closed_ = true;
  }
  // Returns once a Sync() is waiting at the closed gate (its batch is
  // committed and visible to the store's readers, not yet durable).
  void WaitForSyncAtGate() {
    std::unique_lock lock(mu_);
    gate_cv_.wait(lock, [this] { return waiting_at_gate_ > 0; });
  }
  void OpenSyncGate() {
    {
      std::lock_guard lock(mu_);
      gate_closed_ = false;
    }
    gate_cv_.notify_all();
  }
  // While closed, Write() waits before it reaches the wrapped store: a
  // writer paused in the middle of its commit (a zombie in the making).
  void CloseWriteGate() {
    std::lock_guard lock(mu_);
    write_gate_closed_ = true;
    gate_arrivals_ = 0;
  }
  // Lets `n` waiting or later writes through the closed gate.
  void LetWritesThrough(int n) {
    {
      std::lock_guard lock(mu_);
      writes_let_through_ += n;
    }
    gate_cv_.notify_all();
  }
  // Returns once the `nth` write since the gate closed waits at it.
  // False if that did not happen within `deadline`.
  bool WaitForWriteAtGate(int nth = 1,
                          std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    return gate_cv_.wait_for(lock, deadline,
                             [&] { return writes_at_gate_ > 0 && gate_arrivals_ >= nth; });
  }
  void OpenWriteGate() {
    {
      std::lock_guard lock(mu_);
      write_gate_closed_ = false;
    }
    gate_cv_.notify_all();
  }
  int aborted_writes() const { return aborted_writes_; }

  // True once a Sync that started after the message's Write returned OK.
  bool IsDurable(const std::string& tenant, const std::string& conv, int64_t seq) const {
    std::lock_guard lock(mu_);
    auto it = written_in_.find({tenant, conv, seq});
    return it != written_in_.end() && it->second <= durable_writes_;
  }

  Status Write(const WriteBatch& batch) override {
    ++writes_;
    if (fail_writes_ > 0) {
      --fail_writes_;
      std::lock_guard lock(mu_);
      return fail_write_status_;
    }
    {
      std::unique_lock lock(mu_);
      ++writes_at_gate_;
      if (write_gate_closed_) ++gate_arrivals_;
      gate_cv_.notify_all();
      gate_cv_.wait(lock, [this] { return !write_gate_closed_ || writes_let_through_ > 0; });
      if (write_gate_closed_) --writes_let_through_;
      --writes_at_gate_;
    }
    Status st = base_.Write(batch);
    if (st.code() == Code::kAborted) ++aborted_writes_;
    if (!st.ok()) return st;
    std::lock_guard lock(mu_);
    ++committed_writes_;
    for (const auto& sm : batch.messages) {
      written_in_[{sm.tenant, sm.message.conversation_id(), sm.message.seq()}] = committed_writes_;
    }
    return st;
  }
  Status Sync() override {
    ++syncs_;
    int64_t covered = 0;
    {
      std::unique_lock lock(mu_);
      ++waiting_at_gate_;
      gate_cv_.notify_all();
      gate_cv_.wait(lock, [this] { return !gate_closed_; });
      --waiting_at_gate_;
      covered = committed_writes_;
    }
    if (fail_syncs_ > 0) {
      --fail_syncs_;
      return IoError("injected fsync failure");
    }
    Status st = base_.Sync();
    if (!st.ok()) return st;
    std::lock_guard lock(mu_);
    durable_writes_ = std::max(durable_writes_, covered);
    return st;
  }
  Result<bool> Checkpoint() override {
    if (fail_checkpoints_ > 0) {
      --fail_checkpoints_;
      return IoError("injected checkpoint failure");
    }
    return base_.Checkpoint();
  }
  Result<int64_t> ClaimPartition(int32_t partition) override {
    return base_.ClaimPartition(partition);
  }
  Result<int64_t> MaxSeq(const std::string& t, const std::string& c) override {
    ++max_seq_calls_;
    return base_.MaxSeq(t, c);
  }
  Result<std::vector<int64_t>> MaxSeqs(const std::vector<ConversationRef>& convs) override {
    ++max_seqs_calls_;
    return base_.MaxSeqs(convs);
  }
  int max_seq_calls() const { return max_seq_calls_; }
  int key_lookups() const { return key_lookups_; }
  int max_seqs_calls() const { return max_seqs_calls_; }
  Result<std::optional<Message>> FindByClientMsgId(const std::string& t, const std::string& s,
                                                   const std::string& id) override {
    return base_.FindByClientMsgId(t, s, id);
  }
  Result<std::vector<std::optional<Message>>> FindByClientMsgIds(
      const std::vector<IdempotencyKeyRef>& keys) override {
    ++key_lookups_;
    return base_.FindByClientMsgIds(keys);
  }
  Result<std::vector<Message>> ReadAfter(const std::string& t, const std::string& c, int64_t a,
                                         int l) override {
    return base_.ReadAfter(t, c, a, l);
  }
  Result<int64_t> CountAfter(const std::string& t, const std::string& c, int64_t a, int64_t up,
                             const std::string& e) override {
    return base_.CountAfter(t, c, a, up, e);
  }
  Result<std::optional<Message>> Last(const std::string& t, const std::string& c) override {
    return base_.Last(t, c);
  }
  Result<bool> MentionedAfter(const std::string& t, const std::string& c, int64_t a, int64_t up,
                              const std::string& u) override {
    return base_.MentionedAfter(t, c, a, up, u);
  }
  Result<std::optional<Message>> Get(const std::string& t, const std::string& c,
                                     int64_t seq) override {
    return base_.Get(t, c, seq);
  }
  Result<std::vector<Message>> GetMany(const std::string& t, const std::string& c,
                                       const std::vector<int64_t>& seqs) override {
    ++get_many_;
    return base_.GetMany(t, c, seqs);
  }
  int get_many_calls() const { return get_many_; }

 private:
  MessageStore& base_;
  std::atomic<int> fail_writes_{0};
  std::atomic<int> fail_syncs_{0};
  std::atomic<int> fail_checkpoints_{0};
  std::atomic<int> writes_{0};
  std::atomic<int> syncs_{0};
  std::atomic<int> get_many_{0};
  std::atomic<int> max_seq_calls_{0};
  std::atomic<int> max_seqs_calls_{0};
  std::atomic<int> key_lookups_{0};
  mutable std::mutex mu_;
  std::condition_variable gate_cv_;
  Status fail_write_status_;
  bool gate_closed_ = false;
  int waiting_at_gate_ = 0;
  bool write_gate_closed_ = false;
  int writes_at_gate_ = 0;
  int writes_let_through_ = 0;
  int gate_arrivals_ = 0;
  std::atomic<int> aborted_writes_{0};
  int64_t committed_writes_ = 0;
  int64_t durable_writes_ = 0;
  std::map<std::tuple<std::string, std::string, int64_t>, int64_t> written_in_;
};

}  // namespace flare::testing
