#include "rpc/message_orchestrator/submit_book.h"

#include <algorithm>

namespace flare::rpc {

SubmitAnswer AnswerFor(const SubmitEntry& entry, Status status) {
  SubmitAnswer answer;
  answer.reply = entry.reply;
  answer.outcome.kind = entry.kind;
  answer.outcome.status = std::move(status);
  return answer;
}

Status SubmitBook::Add(SubmitEntry entry) {
  if (size() >= max_entries_) return Unavailable("orchestrator queue full");
  entry.submission.set_entry_id(next_id_++);
  queued_.push_back(std::move(entry));
  return Status::Ok();
}

::message::v1::SubmissionBatch SubmitBook::TakeBatch(size_t max) {
  ::message::v1::SubmissionBatch batch;
  while (!queued_.empty() && static_cast<size_t>(batch.entries_size()) < max) {
    SubmitEntry& entry = queued_.front();
    if (entry.idempotent()) {
      *batch.add_entries() = entry.submission;  // kept for a resend
    } else {
      // Never resent: the book keeps only what answers it.
      batch.add_entries()->Swap(&entry.submission);
      entry.submission.set_entry_id(batch.entries(batch.entries_size() - 1).entry_id());
    }
    uint64_t id = entry.id();
    written_.emplace(id, std::move(entry));
    queued_.pop_front();
  }
  return batch;
}

std::optional<SubmitEntry> SubmitBook::Settle(uint64_t entry_id) {
  auto it = written_.find(entry_id);
  if (it == written_.end()) return std::nullopt;
  SubmitEntry entry = std::move(it->second);
  written_.erase(it);
  return entry;
}

std::vector<SubmitAnswer> SubmitBook::OnStreamBroken(const std::string& why) {
  std::vector<SubmitAnswer> answers;
  std::vector<SubmitEntry> resend;
  for (auto& [id, entry] : written_) {
    if (entry.idempotent()) {
      resend.push_back(std::move(entry));
    } else {
      answers.push_back(AnswerFor(entry, Unavailable(why)));
    }
  }
  written_.clear();
  // Resent in their first order, before anything queued since.
  std::sort(resend.begin(), resend.end(),
            [](const SubmitEntry& a, const SubmitEntry& b) { return a.id() < b.id(); });
  for (auto it = resend.rbegin(); it != resend.rend(); ++it) queued_.push_front(std::move(*it));
  return answers;
}

std::vector<SubmitAnswer> SubmitBook::Expire(int64_t now_ms, int64_t deadline_ms,
                                             int64_t give_up_ms) {
  std::vector<SubmitAnswer> answers;
  auto expired = [&](const SubmitEntry& entry) {
    int64_t waited = now_ms - entry.queued_ms;
    if (!entry.idempotent() && waited >= deadline_ms) {
      answers.push_back(
          AnswerFor(entry, Unavailable("deadline exceeded: the orchestrator did not answer")));
      return true;
    }
    if (entry.idempotent() && waited >= give_up_ms) {
      answers.push_back(AnswerFor(entry, Unavailable("the orchestrator could not be reached")));
      return true;
    }
    return false;
  };
  queued_.erase(std::remove_if(queued_.begin(), queued_.end(), expired), queued_.end());
  for (auto it = written_.begin(); it != written_.end();) {
    it = expired(it->second) ? written_.erase(it) : std::next(it);
  }
  return answers;
}

std::vector<SubmitAnswer> SubmitBook::TakeAll(const std::string& why) {
  std::vector<SubmitAnswer> answers;
  for (const SubmitEntry& entry : queued_) answers.push_back(AnswerFor(entry, Unavailable(why)));
  for (const auto& [id, entry] : written_) answers.push_back(AnswerFor(entry, Unavailable(why)));
  queued_.clear();
  written_.clear();
  return answers;
}

}  // namespace flare::rpc
