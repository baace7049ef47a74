#include "services/storage/writer/storage_writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "services/storage/writer/storage_writer_internal.h"

namespace flare {

std::string ConversationKey(const std::string& tenant, const std::string& conversation_id) {
  std::string key;
  key.reserve(tenant.size() + conversation_id.size() + 1);
  key.append(tenant).append(1, '\n').append(conversation_id);
  return key;
}

StorageWriter::StorageWriter(MessageStore& messages, ConversationStore& conversations,
                             const Clock& clock, StorageWriterOptions options,
                             ServerMetrics* metrics)
    : messages_(messages),
      conversations_(conversations),
      clock_(clock),
      options_(options),
      metrics_(metrics),
      queue_(options.max_pending) {}

StorageWriter::~StorageWriter() { Stop(); }

void StorageWriter::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "flare-writer");
    Run();
  });
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "flare-syncer");
    RunSyncer();
  });
}

void StorageWriter::Stop() {
  queue_.Close();
  if (thread_.joinable()) thread_.join();
  if (syncer_.joinable()) syncer_.join();
}

Status StorageWriter::Submit(Command command) {
  if (!queue_.Push(std::move(command))) {
    return Unavailable(queue_.size() >= options_.max_pending ? "storage writer is overloaded"
                                                             : "server is shutting down");
  }
  return Status::Ok();
}

void StorageWriter::Run() {
  std::deque<Command> backlog;  // taken from the queue, not yet in a batch
  for (;;) {
    if (backlog.empty()) {
      auto taken = queue_.PopAll();
      if (taken.empty()) break;  // closed and drained
      backlog.insert(backlog.end(), std::make_move_iterator(taken.begin()),
                     std::make_move_iterator(taken.end()));
    }
    auto batch = std::make_unique<Batch>();
    size_t n = std::min(backlog.size(), options_.max_batch);
    batch->commands.assign(std::make_move_iterator(backlog.begin()),
                           std::make_move_iterator(backlog.begin() + static_cast<ptrdiff_t>(n)));
    backlog.erase(backlog.begin(), backlog.begin() + static_cast<ptrdiff_t>(n));
    if (metrics_) {
      metrics_->pending_writes.Set(static_cast<int64_t>(queue_.size() + backlog.size()));
    }
    Apply(*batch);
    std::unique_lock lock(sync_mu_);
    sync_cv_.wait(lock, [this] { return to_sync_.size() < 2; });
    to_sync_.push_back(std::move(batch));
    sync_cv_.notify_all();
  }
  std::lock_guard lock(sync_mu_);
  writer_done_ = true;
  sync_cv_.notify_all();
}

void StorageWriter::RunSyncer() {
  for (;;) {
    std::unique_ptr<Batch> batch;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return writer_done_ || !to_sync_.empty(); });
      if (to_sync_.empty()) return;
      batch = std::move(to_sync_.front());
      to_sync_.pop_front();
      sync_cv_.notify_all();
    }
    if (batch->written.ok()) {
      Status synced = messages_.Sync();
      if (!synced.ok()) {
        // Committed but maybe not durable: senders retry and get the stored
        // message back by idempotency.
        spdlog::error("sync of a committed batch failed: {}", synced.ToString());
        batch->written = synced;
      }
    }
    if (metrics_) {
      metrics_->store_commit_ms.ObserveMs(
          static_cast<double>(clock_.MonotonicMs() - batch->started_ms));
    }
    Dispatch(*batch);
  }
}

void StorageWriter::Apply(Batch& batch) {
  Staged& staged = batch.staged;
  staged.replies.reserve(batch.commands.size());
  batch.started_ms = clock_.MonotonicMs();
  LookUpEarlier(batch.commands, staged);
  for (auto& command : batch.commands) Stage(command, staged);
  batch.written = messages_.Write(staged.batch);
  if (metrics_) metrics_->store_batches.Add();
  if (!batch.written.ok()) {
    spdlog::error("group commit of {} messages failed: {}", staged.batch.messages.size(),
                  batch.written.ToString());
    // Forget what this batch assumed so the next batch starts from the store.
    for (const auto& key : staged.touched) {
      max_seq_.erase(key);
      known_singles_.erase(key);
      groups_.erase(key);
    }
  }
}

void StorageWriter::Dispatch(Batch& batch) {
  Staged& staged = batch.staged;
  const Status& written = batch.written;
  if (written.ok() && metrics_) {
    metrics_->messages_stored.Add(static_cast<int64_t>(staged.batch.messages.size()));
  }
  int64_t now = clock_.MonotonicMs();
  for (auto& reply : staged.replies) {
    CommandOutcome outcome = std::move(reply.ready);
    if ((reply.message_index >= 0 || outcome.status.ok()) && !written.ok()) {
      outcome.status = Unavailable("storage write failed; retry");
    }
    if (reply.message_index >= 0)
      outcome.stored = &staged.batch.messages[reply.message_index].message;
    if (outcome.duplicate && metrics_) metrics_->messages_duplicate.Add();
    Command& command = *reply.command;
    if (metrics_ && outcome.kind == CommandKind::kSend) {
      metrics_->send_to_ack_ms.ObserveMs(static_cast<double>(now - command.received_mono_ms));
    }
    if (command.origin) command.origin->OnCommandDone(command.request_id, outcome);
  }
  if (!written.ok() || listener_ == nullptr) return;
  if (!staged.batch.messages.empty()) listener_->OnStored(staged.batch.messages);
  if (!staged.reads.empty()) listener_->OnReadMoved(staged.reads);
}

}  // namespace flare
