#include "services/storage/writer/ingest_consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "services/storage/writer/command_codec.h"

namespace flare {

IngestConsumer::IngestConsumer(EventBus& bus, MessageStore& store, StorageWriter& writer,
                               const Clock& clock, IngestConsumerOptions options)
    : bus_(bus), store_(store), writer_(writer), clock_(clock), options_(std::move(options)) {
  writer_.SetStreamProgressHandler([this](const StreamProgress& p) { OnProgress(p); });
}

IngestConsumer::~IngestConsumer() { Stop(); }

Status IngestConsumer::Join() {
  auto consumer = bus_.CreateConsumer(options_.group);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  return consumer_->Subscribe(options_.topic, this);
}

Status IngestConsumer::Start() {
  FLARE_RETURN_IF_ERROR(Join());
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void IngestConsumer::Stop() {
  {
    std::lock_guard lock(mu_);  // so a waiter cannot miss the wake-up
    if (stopping_.exchange(true)) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// A new epoch per assigned partition before any of its records is read:
// from here on a batch of the partition's previous owner cannot commit.
void IngestConsumer::OnAssigned(const std::vector<int32_t>& partitions) {
  uint64_t generation = ++generation_;
  for (int32_t partition : partitions) {
    auto epoch = store_.ClaimPartition(partition);
    if (!epoch.ok()) {
      // Without a claim its records are dropped; a rejoin tries again.
      spdlog::error("claiming ingest partition {} failed: {}", partition,
                    epoch.status().ToString());
      std::lock_guard lock(mu_);
      rejoin_ = true;
      continue;
    }
    writer_.ClaimPartition(partition, *epoch, generation);
    owned_.insert(partition);
  }
  ReportOwned();
  spdlog::info("storage writer owns {} more ingest partitions", partitions.size());
}

void IngestConsumer::ReportOwned() {
  if (options_.partitions_owned != nullptr) {
    options_.partitions_owned->Set(static_cast<int64_t>(owned_.size()));
  }
}

// What is durable is committed before the partitions go; the rest is
// redelivered to their next owner (and answered by it from idempotency).
void IngestConsumer::OnRevoked(const std::vector<int32_t>& partitions) {
  for (int32_t partition : partitions) {
    writer_.ReleasePartition(partition);
    owned_.erase(partition);
  }
  ReportOwned();
  CommitReported();
}

void IngestConsumer::OnProgress(const StreamProgress& progress) {
  std::lock_guard lock(mu_);
  in_flight_ -= std::min(in_flight_, progress.commands);
  if (progress.fenced) rejoin_ = true;
  for (const auto& [partition, next] : progress.next_offsets) {
    int64_t& pending = to_commit_[partition];
    pending = std::max(pending, next);
  }
  cv_.notify_all();
}

void IngestConsumer::WaitForRoom() {
  std::unique_lock lock(mu_);
  // Bounded: a writer that failed reports nothing more.
  cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_timeout_ms), [this] {
    return stopping_ || rejoin_ || !to_commit_.empty() || in_flight_ < options_.max_in_flight;
  });
}

void IngestConsumer::CommitReported() {
  std::map<int32_t, int64_t> commits;
  {
    std::lock_guard lock(mu_);
    commits.swap(to_commit_);
  }
  if (!consumer_) return;
  for (const auto& [partition, next] : commits) {
    Status st = consumer_->Commit(partition, next);
    // kAborted: the partition moved on; its next owner redelivers the rest.
    if (!st.ok() && st.code() != Code::kAborted) {
      spdlog::warn("committing ingest partition {} at {} failed: {}", partition, next,
                   st.ToString());
    }
  }
}

bool IngestConsumer::Submit(BusRecord& record) {
  auto command = DecodeCommand(record.value);
  if (!command.ok()) {
    // Skipped; a later commit of the partition covers its offset.
    spdlog::error("ingest record {}:{} skipped: {}", record.partition, record.offset,
                  command.status().ToString());
    return true;
  }
  command->source = {record.partition, record.offset, generation_.load()};
  command->received_mono_ms = clock_.MonotonicMs();
  std::unique_lock lock(mu_);
  ++in_flight_;
  // A full writer queue (its byte bound) is waited out: a record skipped
  // here would be lost once a later offset of its partition is committed.
  for (;;) {
    lock.unlock();
    Status st = writer_.Submit(std::move(*command));
    lock.lock();
    if (st.ok()) {
      ++submitted_;
      return true;
    }
    command = DecodeCommand(record.value);  // Submit took it; decoded before, so it decodes
    command->source = {record.partition, record.offset, generation_.load()};
    command->received_mono_ms = clock_.MonotonicMs();
    if (stopping_ || writer_.failed()) {
      --in_flight_;
      return false;  // not committed: the next owner gets it again
    }
    size_t before = in_flight_;
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_timeout_ms),
                 [&] { return stopping_ || in_flight_ < before; });
  }
}

// Leaves the group and joins again after a pause (a store that is down
// would otherwise make this spin), so the stream redelivers from the last
// commit whatever this member's writer left unanswered.
void IngestConsumer::Rejoin() {
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.rejoin_backoff_ms),
                 [this] { return stopping_.load(); });
  }
  if (stopping_) return;
  if (consumer_) (void)consumer_->Close();  // OnRevoked releases every partition
  ++generation_;
  ++rejoins_;
  if (Status st = Join(); !st.ok()) {
    spdlog::error("rejoining the storage writers' group: {}", st.ToString());
    consumer_.reset();
    std::lock_guard lock(mu_);
    rejoin_ = true;  // tried again after the next pause
  }
}

void IngestConsumer::ReportLag() {
  if (options_.lag_records == nullptr) return;
  int64_t total = 0;
  for (const auto& [partition, behind] : consumer_->Lag()) total += behind;
  options_.lag_records->Set(total);
}

void IngestConsumer::Run() {
  while (!stopping_) {
    WaitForRoom();
    CommitReported();
    bool rejoin = false;
    {
      std::lock_guard lock(mu_);
      std::swap(rejoin, rejoin_);
    }
    if (rejoin && !stopping_) {
      Rejoin();
      continue;
    }
    if (!consumer_) continue;
    bool room;
    {
      std::lock_guard lock(mu_);
      room = in_flight_ < options_.max_in_flight;
    }
    if (!room) {  // woken for a commit only; the backlog may still grow
      ReportLag();
      continue;
    }
    auto records = consumer_->Poll(options_.max_poll_records, options_.poll_timeout_ms);
    if (!records.ok()) {
      spdlog::warn("polling the ingest stream: {}", records.status().ToString());
      continue;
    }
    ReportLag();
    for (auto& record : *records) {
      if (!Submit(record)) break;
    }
  }
  if (consumer_) {
    CommitReported();
    (void)consumer_->Close();
  }
}

}  // namespace flare
