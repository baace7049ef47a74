#include "services/storage/writer/storage_writer.h"

#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

namespace flare {

struct StorageWriter::Staged {
  WriteBatch batch;
  // Per send: index into batch.messages, or -1 with a ready outcome.
  struct Reply {
    IngestMessage* send;
    int message_index = -1;
    SendOutcome ready;
  };
  std::vector<Reply> replies;
  std::map<std::tuple<std::string, std::string, std::string>, int> by_client_id;
  std::vector<std::string> touched_conversations;
  std::vector<std::string> new_conversations;
};

StorageWriter::StorageWriter(MessageStore& store, const Clock& clock,
                             StorageWriterOptions options, ServerMetrics* metrics)
    : store_(store), clock_(clock), options_(options), metrics_(metrics) {}

StorageWriter::~StorageWriter() { Stop(); }

void StorageWriter::Start() { thread_ = std::thread([this] { Run(); }); }

void StorageWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status StorageWriter::Submit(IngestMessage message) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("server is shutting down");
    if (sends_.size() >= options_.max_pending) return Unavailable("storage writer is overloaded");
    sends_.push_back(std::move(message));
    if (metrics_) metrics_->pending_writes.Set(static_cast<int64_t>(sends_.size()));
  }
  cv_.notify_one();
  return Status::Ok();
}

Status StorageWriter::SubmitCursor(CursorUpdate cursor) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("server is shutting down");
    cursors_.push_back(std::move(cursor));
  }
  cv_.notify_one();
  return Status::Ok();
}

void StorageWriter::Run() {
  std::vector<IngestMessage> sends;
  std::vector<CursorUpdate> cursors;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !sends_.empty() || !cursors_.empty(); });
      if (sends_.empty() && cursors_.empty()) return;  // stopping and drained
      size_t n = std::min(sends_.size(), options_.max_batch);
      sends.assign(std::make_move_iterator(sends_.begin()),
                   std::make_move_iterator(sends_.begin() + n));
      sends_.erase(sends_.begin(), sends_.begin() + n);
      cursors.swap(cursors_);
      if (metrics_) metrics_->pending_writes.Set(static_cast<int64_t>(sends_.size()));
    }
    CommitBatch(sends, cursors);
    sends.clear();
    cursors.clear();
  }
}

Result<int64_t> StorageWriter::NextSeq(const std::string& conv_key, const std::string& tenant,
                                       const std::string& conversation_id) {
  auto it = max_seq_.find(conv_key);
  if (it == max_seq_.end()) {
    auto stored = store_.MaxSeq(tenant, conversation_id);
    if (!stored.ok()) return stored.status();
    it = max_seq_.emplace(conv_key, *stored).first;
  }
  return ++it->second;
}

void StorageWriter::StageSend(IngestMessage& send, Staged& staged) {
  Message& m = send.message;
  auto id_key = std::make_tuple(send.tenant, m.sender(), m.client_msg_id());
  if (auto it = staged.by_client_id.find(id_key); it != staged.by_client_id.end()) {
    SendOutcome retry;  // the same key twice in one batch: the second is a duplicate
    retry.duplicate = true;
    staged.replies.push_back({&send, it->second, std::move(retry)});
    return;
  }
  auto earlier = store_.FindByClientMsgId(send.tenant, m.sender(), m.client_msg_id());
  if (!earlier.ok() || earlier->has_value()) {
    SendOutcome outcome;
    outcome.status = earlier.status();
    if (earlier.ok()) outcome.message = **earlier, outcome.duplicate = true;
    staged.replies.push_back({&send, -1, std::move(outcome)});
    return;
  }
  std::string conv_key = send.tenant + '\n' + m.conversation_id();
  auto seq = NextSeq(conv_key, send.tenant, m.conversation_id());
  if (!seq.ok()) {
    staged.replies.push_back({&send, -1, SendOutcome{seq.status(), {}, false}});
    return;
  }
  staged.touched_conversations.push_back(conv_key);
  if (known_conversations_.insert(conv_key).second) {
    staged.new_conversations.push_back(conv_key);
    for (const auto& user : send.members) {
      staged.batch.memberships.push_back(
          {send.tenant, m.conversation_id(), m.conversation_type(), user, clock_.NowMs()});
    }
  }
  m.set_seq(*seq);
  m.set_server_time_ms(clock_.NowMs());
  m.set_server_msg_id(MakeUlid(m.server_time_ms(), random_));
  int index = static_cast<int>(staged.batch.messages.size());
  staged.batch.messages.push_back({send.tenant, std::move(m)});
  staged.by_client_id.emplace(std::move(id_key), index);
  staged.replies.push_back({&send, index, {}});
}

void StorageWriter::CommitBatch(std::vector<IngestMessage>& sends,
                                std::vector<CursorUpdate>& cursors) {
  Staged staged;
  staged.replies.reserve(sends.size());
  for (auto& send : sends) StageSend(send, staged);
  staged.batch.cursors = std::move(cursors);

  int64_t start = clock_.MonotonicMs();
  Status written = store_.Write(staged.batch);
  if (metrics_) {
    metrics_->store_batches.Add();
    metrics_->store_commit_ms.ObserveMs(static_cast<double>(clock_.MonotonicMs() - start));
  }
  if (!written.ok()) {
    spdlog::error("group commit of {} messages failed: {}", staged.batch.messages.size(),
                  written.ToString());
    // Forget what this batch assumed so the next batch starts from the store.
    for (const auto& key : staged.touched_conversations) max_seq_.erase(key);
    for (const auto& key : staged.new_conversations) known_conversations_.erase(key);
  } else if (metrics_) {
    metrics_->messages_stored.Add(static_cast<int64_t>(staged.batch.messages.size()));
  }

  int64_t now = clock_.MonotonicMs();
  for (auto& reply : staged.replies) {
    SendOutcome outcome = std::move(reply.ready);
    if (reply.message_index >= 0) {
      outcome.status = written.ok() ? Status::Ok() : Unavailable("storage write failed; retry");
      outcome.message = staged.batch.messages[reply.message_index].message;
    }
    if (outcome.duplicate && metrics_) metrics_->messages_duplicate.Add();
    if (metrics_) metrics_->send_to_ack_ms.ObserveMs(double(now - reply.send->received_mono_ms));
    if (reply.send->origin) reply.send->origin->OnSendDone(reply.send->request_id, outcome);
  }
  if (written.ok() && listener_ != nullptr && !staged.batch.messages.empty()) {
    listener_->OnStored(staged.batch.messages);
  }
}

}  // namespace flare
