// The storage writer as a fenced owner of ingest stream partitions: which
// commands it may write (those of partitions it claimed, with the claim's
// epoch on every batch), what it does when the store says another writer
// took a partition over, and what it tells the stream consumer it may
// commit.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "services/storage/writer/storage_writer.h"
#include "services/storage/writer/storage_writer_internal.h"

namespace flare {

void StorageWriter::ClaimPartition(int32_t partition, int64_t epoch, uint64_t since_generation) {
  std::lock_guard lock(claims_mu_);
  claims_[partition] = {epoch, since_generation};
  ownership_changed_.store(true, std::memory_order_release);
}

void StorageWriter::ReleasePartition(int32_t partition) {
  std::lock_guard lock(claims_mu_);
  claims_.erase(partition);
  ownership_changed_.store(true, std::memory_order_release);
}

// Another writer may have changed the conversations of a partition while
// this one did not own it: their cached seqs and group states are stale.
void StorageWriter::DropCachesIfOwnershipChanged() {
  if (!ownership_changed_.exchange(false, std::memory_order_acq_rel)) return;
  max_seq_.Clear();
  known_singles_.Clear();
  groups_.Clear();
}

void StorageWriter::SetAsideUnowned(Batch& batch) {
  bool any_stream = std::any_of(batch.commands.begin(), batch.commands.end(),
                                [](const Command& c) { return c.source.partition >= 0; });
  if (!any_stream) return;
  std::vector<Command> kept;
  kept.reserve(batch.commands.size());
  auto& claims = batch.staged.batch.claims;
  std::lock_guard lock(claims_mu_);
  for (auto& c : batch.commands) {
    if (c.source.partition < 0) {
      kept.push_back(std::move(c));
      continue;
    }
    auto owned = claims_.find(c.source.partition);
    bool fenced = any_fenced_ && c.source.generation <= fenced_generation_;
    if (fenced || owned == claims_.end() || c.source.generation < owned->second.since_generation) {
      batch.unowned.push_back(std::move(c));
      continue;
    }
    bool listed = std::any_of(claims.begin(), claims.end(), [&](const PartitionClaim& claim) {
      return claim.partition == owned->first;
    });
    if (!listed) claims.push_back({owned->first, owned->second.epoch});
    kept.push_back(std::move(c));
  }
  batch.commands = std::move(kept);
}

// kAborted: another writer owns a partition. kUnavailable: the store may
// or may not have committed (a connection lost during COMMIT), so an answer
// could be wrong and a retry under a new key could apply it twice; on
// redelivery the idempotency keys tell. kAlreadyExists: a key or seq
// another writer stored meanwhile, which redelivery answers as a repeat.
// Other errors would fail the same way again: those are answered.
bool StorageWriter::LeftToRedelivery(const Batch& batch) const {
  Code code = batch.written.code();
  if (code != Code::kAborted && code != Code::kUnavailable && code != Code::kAlreadyExists) {
    return false;
  }
  return std::any_of(batch.commands.begin(), batch.commands.end(),
                     [](const Command& c) { return c.source.partition >= 0; });
}

// Writer thread, right after the store refused the batch (see above).
void StorageWriter::OnFenced(Batch& batch) {
  batch.fenced = true;
  uint64_t generation = 0;
  for (const auto& c : batch.commands) {
    if (c.source.partition >= 0) generation = std::max(generation, c.source.generation);
  }
  {
    std::lock_guard lock(claims_mu_);
    any_fenced_ = true;
    fenced_generation_ = std::max(fenced_generation_, generation);
  }
  ownership_changed_.store(true, std::memory_order_release);
  spdlog::warn("batch of {} commands left to redelivery: {}", batch.commands.size(),
               batch.written.ToString());
}

void StorageWriter::ReportProgress(const Batch& batch) {
  // After a failed sync nothing may be committed to the stream.
  if (!on_progress_ || failed()) return;
  StreamProgress progress;
  progress.fenced = batch.fenced;
  for (const auto& c : batch.unowned) {
    ++progress.commands;
    progress.generation = std::max(progress.generation, c.source.generation);
  }
  for (const auto& c : batch.commands) {
    if (c.source.partition < 0) continue;
    ++progress.commands;
    progress.generation = std::max(progress.generation, c.source.generation);
    if (batch.fenced) continue;
    int64_t& next = progress.next_offsets[c.source.partition];
    next = std::max(next, c.source.offset + 1);
  }
  if (progress.commands > 0) on_progress_(progress);
}

}  // namespace flare
