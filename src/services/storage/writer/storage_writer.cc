#include "services/storage/writer/storage_writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "services/signaling/inbox/inbox_transport.h"
#include "services/storage/writer/storage_writer_internal.h"

namespace flare {

StorageWriter::StorageWriter(MessageStore& messages, ConversationStore& conversations,
                             const Clock& clock, StorageWriterOptions options,
                             ServerMetrics* metrics)
    : messages_(messages),
      conversations_(conversations),
      clock_(clock),
      options_(options),
      metrics_(metrics),
      queue_(options.max_pending),
      max_seq_(options.cached_conversations),
      known_singles_(options.cached_conversations),
      groups_(options.cached_groups) {}

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

void ExitOnStorageFailure(const Status& status) {
  spdlog::critical(
      "storage: {}. A committed batch may not be on disk; stopping now so that recovery "
      "starts from what is really on disk (no acknowledgement was sent for it)",
      status.ToString());
  spdlog::default_logger()->flush();
  std::_Exit(74);  // EX_IOERR
}

namespace {

// Roughly what a queued command holds in memory.
size_t CommandBytes(const Command& c) {
  size_t bytes = sizeof(Command) + c.tenant.size() + c.actor.size() + c.actor_device.size() +
                 c.reply.request_id.size() + c.reply.gateway_id.size();
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SendCommand>) {
          bytes += body.message.ByteSizeLong();
          for (const auto& m : body.members) bytes += m.size();
        } else if constexpr (std::is_same_v<T, CursorCommand>) {
          bytes += body.cursor.conversation_id.size() + body.cursor.user_id.size();
        } else {
          bytes += body.request.ByteSizeLong();
        }
      },
      c.body);
  return bytes;
}

}  // namespace

Status StorageWriter::Submit(Command command) {
  if (failed()) return Unavailable("storage failed; the server is stopping");
  size_t bytes = CommandBytes(command);
  if (pending_bytes_.fetch_add(bytes) + bytes > options_.max_pending_bytes) {
    pending_bytes_.fetch_sub(bytes);
    return Unavailable("storage writer is overloaded");
  }
  command.queued_bytes = bytes;
  if (!queue_.Push(std::move(command))) {
    pending_bytes_.fetch_sub(bytes);
    return Unavailable(queue_.size() >= options_.max_pending ? "storage writer is overloaded"
                                                             : "server is shutting down");
  }
  return Status::Ok();
}

// The batch's commands leave the queue's bounds once applied: what is in
// flight after that is at most four batches (see docs/architecture.md).
void StorageWriter::ReleaseQueued(const Batch& batch) {
  size_t bytes = 0;
  for (const auto& c : batch.commands) bytes += c.queued_bytes;
  for (const auto& c : batch.unowned) bytes += c.queued_bytes;
  pending_bytes_.fetch_sub(bytes);
  queue_.Release(batch.commands.size() + batch.unowned.size());
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
      metrics_->pending_writes.Set(static_cast<int64_t>(queue_.size()));  // backlog included
    }
    if (failed()) {
      Refuse(*batch);
      ReleaseQueued(*batch);
      continue;
    }
    batch->id = ++next_batch_id_;
    Apply(*batch);
    ReleaseQueued(*batch);
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return to_sync_.size() < 2; });
      to_sync_.push_back(std::move(batch));
      sync_cv_.notify_all();
    }
    // Between batches, and never part of a batch's outcome: a failed
    // checkpoint only leaves the WAL longer.
    // After a failed sync nothing more is copied into the database file.
    if (!failed()) Checkpoint();
  }
  std::lock_guard lock(sync_mu_);
  writer_done_ = true;
  sync_cv_.notify_all();
}

void StorageWriter::Checkpoint() {
  int64_t started_ms = clock_.MonotonicMs();
  Result<bool> checkpointed = messages_.Checkpoint();
  if (!checkpointed.ok()) {
    spdlog::warn("checkpoint failed: {}", checkpointed.status().ToString());
  } else if (*checkpointed && metrics_) {
    metrics_->store_checkpoint_ms.ObserveMs(static_cast<double>(clock_.MonotonicMs() - started_ms));
  }
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
    MakeDurable(*batch);
    if (metrics_) {
      metrics_->store_commit_ms.ObserveMs(
          static_cast<double>(clock_.MonotonicMs() - batch->started_ms));
    }
    Dispatch(*batch);
  }
}

void StorageWriter::MakeDurable(Batch& batch) {
  if (!batch.written.ok()) return;  // nothing of it was stored
  if (failed()) {
    batch.written = Unavailable("storage failed; the server is stopping");
    return;
  }
  Status synced = messages_.Sync();
  if (synced.ok()) {
    if (fence_) fence_->Release(batch.id);
    return;
  }
  // The batch stays fenced: no reader ever serves it, no sender is acked.
  failed_.store(true, std::memory_order_release);
  batch.written = Unavailable("storage failed; the server is stopping");
  spdlog::critical("sync of a committed batch failed: {}", synced.ToString());
  options_.on_fatal(synced);
}

void StorageWriter::Answer(const Command& command, const CommandOutcome& outcome) {
  if (replies_ != nullptr && command.reply.session_id != 0) {
    replies_->OnCommandDone(command.reply, outcome);
  }
}

void StorageWriter::Refuse(Batch& batch) {
  for (auto& command : batch.commands) {
    CommandOutcome outcome;
    outcome.kind = static_cast<CommandKind>(command.body.index());
    outcome.status = Unavailable("storage failed; the server is stopping");
    Answer(command, outcome);
  }
}

void StorageWriter::HoldUntilDurable(Batch& batch) {
  if (fence_ == nullptr) return;
  std::vector<std::pair<std::string, int64_t>> first_seqs;
  std::unordered_set<std::string> seen;
  for (const auto& sm : batch.staged.batch.messages) {
    std::string key = ConversationKey(sm.tenant, sm.message.conversation_id());
    if (seen.insert(key).second) first_seqs.emplace_back(std::move(key), sm.message.seq());
  }
  fence_->Hold(batch.id, std::move(first_seqs));
}

void StorageWriter::Apply(Batch& batch) {
  batch.started_ms = clock_.MonotonicMs();
  // Between batches, so nothing a batch staged is dropped while it runs.
  DropCachesIfOwnershipChanged();
  max_seq_.Trim();
  known_singles_.Trim();
  groups_.Trim();
  SetAsideUnowned(batch);
  if (!StageAndWrite(batch, /*look_up_keys=*/false)) {
    Unstage(batch);
    batch.staged.StartOver();
    StageAndWrite(batch, /*look_up_keys=*/true);
  }
  if (LeftToRedelivery(batch)) OnFenced(batch);
  if (!batch.written.ok() && !batch.fenced) {
    spdlog::error("group commit of {} messages failed: {}", batch.staged.batch.messages.size(),
                  batch.written.ToString());
  }
  if (!batch.written.ok()) Unstage(batch);
}

bool StorageWriter::StageAndWrite(Batch& batch, bool look_up_keys) {
  Staged& staged = batch.staged;
  staged.replies.reserve(batch.commands.size());
  if (look_up_keys) LookUpEarlier(batch.commands, staged);
  PrefetchMaxSeqs(batch.commands);
  FetchTargets(batch.commands, staged);
  for (auto& command : batch.commands) Stage(command, staged);
  if (!look_up_keys && RefusedRepeatsPossible(staged)) return false;
  HoldUntilDurable(batch);
  batch.written = messages_.Write(staged.batch);
  if (metrics_) metrics_->store_batches.Add();
  return look_up_keys || batch.written.code() != Code::kAlreadyExists;
}

// Forgets what the batch assumed so the next staging starts from the store.
// Its replies and staged messages stay for Dispatch to answer a failure.
void StorageWriter::Unstage(Batch& batch) {
  if (fence_) fence_->Release(batch.id);
  for (const auto& key : batch.staged.touched) {
    max_seq_.Erase(key);
    known_singles_.Erase(key);
    groups_.Erase(key);
  }
  batch.staged.touched.clear();
}

void StorageWriter::Dispatch(Batch& batch) {
  // The batch's outcomes and pushes for another process's gateway leave
  // together (one stream message per gateway over gRPC).
  InboxBatchScope inbox_batch;
  Staged& staged = batch.staged;
  const Status& written = batch.written;
  if (written.ok() && metrics_) {
    metrics_->messages_stored.Add(static_cast<int64_t>(staged.batch.messages.size()));
    if (!staged.batch.messages.empty()) {
      metrics_->store_batch_messages.Observe(static_cast<double>(staged.batch.messages.size()));
    }
  }
  int64_t now = clock_.MonotonicMs();
  for (auto& reply : staged.replies) {
    CommandOutcome outcome = std::move(reply.ready);
    if ((reply.message_index >= 0 || outcome.status.ok()) && !written.ok()) {
      outcome.status = written.code() == Code::kUnavailable
                           ? written
                           : Unavailable("storage write failed; retry");
    }
    if (reply.message_index >= 0)
      outcome.stored = &staged.batch.messages[reply.message_index].message;
    if (outcome.duplicate && metrics_) metrics_->messages_duplicate.Add();
    Command& command = *reply.command;
    // Left to the partition's new owner, which answers it on redelivery.
    if (batch.fenced && command.source.partition >= 0) continue;
    if (metrics_ && outcome.kind == CommandKind::kSend) {
      metrics_->send_to_ack_ms.ObserveMs(static_cast<double>(now - command.received_mono_ms));
    }
    Answer(command, outcome);
  }
  ReportProgress(batch);
  if (!written.ok() || listener_ == nullptr) return;
  if (!staged.batch.messages.empty()) {
    std::vector<CommittedMessage> committed;
    committed.reserve(staged.batch.messages.size());
    for (size_t i = 0; i < staged.batch.messages.size(); ++i) {
      committed.push_back({std::move(staged.batch.messages[i]), std::move(staged.audiences[i])});
    }
    listener_->OnStored(committed);
  }
  if (!staged.reads.empty()) listener_->OnReadMoved(staged.reads);
}

}  // namespace flare
