// The gateway side's book of Submit entries: those waiting to be written
// and those written and not answered yet, with the rules of what happens
// to each when the stream breaks or time passes. No gRPC and no locking:
// the client holds its lock around every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "message/v1/message_orchestrator.pb.h"
#include "services/storage/writer/storage_writer.h"

namespace flare::rpc {

struct SubmitEntry {
  CommandKind kind = CommandKind::kSend;
  ReplyAddress reply;
  int64_t queued_ms = 0;  // monotonic, when the call queued it
  // The entry as it goes on the wire; kept after writing only while it may
  // be resent (idempotent kinds).
  ::message::v1::Submission submission;

  uint64_t id() const { return submission.entry_id(); }
  // Sends and cursor moves may be applied twice with the same effect.
  bool idempotent() const { return kind == CommandKind::kSend || kind == CommandKind::kCursor; }
};

// An entry that gets no acceptance: where its outcome goes, and what it is.
struct SubmitAnswer {
  ReplyAddress reply;
  CommandOutcome outcome;
};

class SubmitBook {
 public:
  explicit SubmitBook(size_t max_entries) : max_entries_(max_entries) {}

  // Queues `entry` with the next entry id; UNAVAILABLE when the book holds
  // max_entries already.
  Status Add(SubmitEntry entry);

  bool HasQueued() const { return !queued_.empty(); }
  size_t queued() const { return queued_.size(); }
  size_t size() const { return queued_.size() + written_.size(); }

  // Moves up to `max` queued entries to the written ones, oldest first;
  // the batch to write.
  ::message::v1::SubmissionBatch TakeBatch(size_t max);

  // The written entry `entry_id`, answered now; nullopt when unknown (an
  // answer after the entry timed out, or a duplicate).
  std::optional<SubmitEntry> Settle(uint64_t entry_id);

  // The stream broke: written idempotent entries go back to the front of
  // the queue, to be resent on the next stream; the others may or may not
  // have been applied and are answered UNAVAILABLE with `why`.
  std::vector<SubmitAnswer> OnStreamBroken(const std::string& why);

  // Entries unanswered for too long at `now_ms`: not idempotent after
  // `deadline_ms`, idempotent after `give_up_ms`.
  std::vector<SubmitAnswer> Expire(int64_t now_ms, int64_t deadline_ms, int64_t give_up_ms);

  // Everything left, answered UNAVAILABLE with `why` (closing).
  std::vector<SubmitAnswer> TakeAll(const std::string& why);

 private:
  uint64_t next_id_ = 1;
  size_t max_entries_;
  std::deque<SubmitEntry> queued_;
  std::unordered_map<uint64_t, SubmitEntry> written_;
};

// An entry's answer: `status` as the outcome of its kind.
SubmitAnswer AnswerFor(const SubmitEntry& entry, Status status);

}  // namespace flare::rpc
