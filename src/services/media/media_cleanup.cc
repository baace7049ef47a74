// MediaService: references from stored messages, orphan cleanup and the
// thread that runs both.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "services/media/media_service.h"

namespace flare {
namespace {

constexpr size_t kCleanupPage = 100;
// The thread looks at the Clock at least this often (real time), so a
// ManualClock moved forward in a test is noticed.
constexpr int64_t kMaxWaitMs = 200;

}  // namespace

void MediaService::QueueReferenceChanges(std::vector<MediaReferenceChange> changes) {
  if (changes.empty()) return;
  {
    std::lock_guard lock(queue_mu_);
    size_t room = options_.max_queued_reference_changes -
                  std::min(queue_.size(), options_.max_queued_reference_changes);
    if (changes.size() > room) {
      spdlog::warn("media: {} reference changes dropped (queue full)", changes.size() - room);
      changes.resize(room);
    }
    for (auto& change : changes) queue_.push_back(std::move(change));
  }
  queue_cv_.notify_all();
}

size_t MediaService::queued_reference_changes() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

size_t MediaService::ApplyReferenceChanges() {
  std::lock_guard apply(apply_mu_);
  size_t applied = 0;
  for (;;) {
    MediaReferenceChange change;
    {
      std::lock_guard lock(queue_mu_);
      if (queue_.empty()) return applied;
      change = queue_.front();
    }
    Status st =
        change.kind == MediaReferenceChange::Kind::kAdd
            ? store_.AddRef(change.tenant, change.media_id, change.conversation_id, change.seq)
            : store_.ReleaseMessage(change.tenant, change.conversation_id, change.seq,
                                    clock_.NowMs());
    if (!st.ok()) {
      // Kept at the front, in order: a reference lost would let its media
      // be deleted while a message still shows it.
      spdlog::warn("media references: {} (retried later)", st.ToString());
      return applied;
    }
    std::lock_guard lock(queue_mu_);
    queue_.pop_front();
    ++applied;
  }
}

Result<MediaCleanupReport> MediaService::RunCleanup() {
  // References already queued count: recorded first.
  ApplyReferenceChanges();
  // Older than the grace: unreferenced since strictly before now - grace.
  const int64_t cutoff = clock_.NowMs() - options_.orphan_grace_ms - 1;
  MediaCleanupReport report;
  if (options_.delete_orphans) {
    auto deleted = DeleteOrphans(cutoff);
    if (!deleted.ok()) return deleted.status();
    report.media_deleted = *deleted;
  }
  auto aborted = AbortStaleUploads(cutoff);
  if (!aborted.ok()) return aborted.status();
  report.uploads_aborted = *aborted;
  return report;
}

// The record goes first (only if still an orphan, atomically), then its
// objects: a reference coming in between finds no media rather than a
// media without bytes.
Result<int> MediaService::DeleteOrphans(int64_t cutoff_ms) {
  int deleted = 0;
  for (;;) {
    auto orphans = store_.ListOrphans(cutoff_ms, kCleanupPage);
    if (!orphans.ok()) return orphans.status();
    int round = 0;
    for (const MediaRecord& record : *orphans) {
      auto gone = store_.DeleteIfOrphan(record.tenant, record.media_id, cutoff_ms);
      if (!gone.ok()) return gone.status();
      if (!*gone) continue;
      DeleteObjects(record);
      ++round;
    }
    deleted += round;
    if (orphans->size() < kCleanupPage || round == 0) return deleted;
  }
}

Result<int> MediaService::AbortStaleUploads(int64_t cutoff_ms) {
  int aborted = 0;
  for (;;) {
    auto stale = store_.ListUploadsBefore(cutoff_ms, kCleanupPage);
    if (!stale.ok()) return stale.status();
    for (const UploadRecord& upload : *stale) {
      Status st = objects_.AbortMultipart(upload.object_key, upload.store_upload_id);
      if (!st.ok() && st.code() != Code::kNotFound) return st;
      FLARE_RETURN_IF_ERROR(store_.DeleteUpload(upload.tenant, upload.upload_id));
      ++aborted;
    }
    if (stale->size() < kCleanupPage) return aborted;
  }
}

void MediaService::Start() {
  std::lock_guard lock(queue_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void MediaService::Stop() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ApplyReferenceChanges();
}

void MediaService::Run() {
  int64_t next_cleanup = clock_.MonotonicMs() + options_.cleanup_interval_ms;
  bool retry_later = false;  // the store failed: wait before trying the queue again
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    int64_t wait_ms = std::clamp<int64_t>(next_cleanup - clock_.MonotonicMs(), 0, kMaxWaitMs);
    queue_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                       [&] { return stopping_ || (!retry_later && !queue_.empty()); });
    if (stopping_) break;
    lock.unlock();
    ApplyReferenceChanges();
    retry_later = queued_reference_changes() > 0;
    if (clock_.MonotonicMs() >= next_cleanup) {
      auto report = RunCleanup();
      if (!report.ok()) {
        spdlog::warn("media cleanup: {}", report.status().ToString());
      } else if (report->media_deleted + report->uploads_aborted > 0) {
        spdlog::info("media cleanup: {} orphaned media deleted, {} stale uploads aborted",
                     report->media_deleted, report->uploads_aborted);
      }
      next_cleanup = clock_.MonotonicMs() + options_.cleanup_interval_ms;
    }
    lock.lock();
  }
}

}  // namespace flare
