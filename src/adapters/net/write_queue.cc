#include "adapters/net/write_queue.h"

namespace flare {

WriteQueue::Queued WriteQueue::Push(std::shared_ptr<const std::string> frame, bool binary) {
  std::lock_guard lock(mu_);
  if (closing_) return {queued_bytes_, false};
  queued_bytes_ += frame->size();
  queue_.push_back({std::move(frame), binary});
  bool start = !writing_ && open_;
  writing_ = writing_ || start;
  return {queued_bytes_, start};
}

WriteQueue::Queued WriteQueue::PushMany(std::vector<std::shared_ptr<const std::string>>& frames,
                                        bool binary) {
  std::lock_guard lock(mu_);
  if (closing_) return {queued_bytes_, false};
  for (auto& f : frames) {
    queued_bytes_ += f->size();
    queue_.push_back({std::move(f), binary});
  }
  bool start = !writing_ && open_;
  writing_ = writing_ || start;
  return {queued_bytes_, start};
}

bool WriteQueue::RequestClose(uint16_t code, std::string reason) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  closing_ = true;
  close_ = {code, std::move(reason)};
  bool start = !writing_ && open_;
  writing_ = writing_ || start;
  return start;
}

bool WriteQueue::Open() {
  std::lock_guard lock(mu_);
  if (finished_) return false;
  open_ = true;
  bool start = (queue_head_ < queue_.size() || closing_) && !writing_;
  writing_ = writing_ || start;
  return start;
}

WriteQueue::Next WriteQueue::TakeNext(std::vector<std::shared_ptr<const std::string>>& frames,
                                      bool& binary, CloseRequest& close) {
  frames.clear();
  std::lock_guard lock(mu_);
  if (finished_ || queue_head_ == queue_.size()) {
    writing_ = false;
    if (closing_ && !close_sent_ && !finished_) {
      close_sent_ = true;
      close = close_;
      return Next::kClose;
    }
    return Next::kIdle;
  }
  TakeBatch(frames, binary);
  return Next::kWrite;
}

void WriteQueue::WriteCompleted() {
  std::lock_guard lock(mu_);
  queued_bytes_ -= in_flight_bytes_;  // zero after Finish, which dropped the count
  in_flight_bytes_ = 0;
}

// A write may still be in flight: its completion must find an empty queue
// with its read position reset and no bytes left to subtract.
void WriteQueue::Finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  closing_ = true;
  queue_.clear();
  queue_head_ = 0;
  queued_bytes_ = 0;
  in_flight_bytes_ = 0;
}

size_t WriteQueue::queued_bytes() const {
  std::lock_guard lock(mu_);
  return queued_bytes_;
}

// Whether the next frame joins a batch that already holds `taken` frames.
bool WriteQueue::Fits(size_t taken, size_t taken_bytes, size_t next_bytes) const {
  if (taken == 0) return true;
  return batching_->before && taken < batching_->max_frames &&
         taken_bytes + next_bytes <= batching_->max_bytes;
}

// Moves the next frames of one encoding from the queue into `frames`.
// Called with mu_ held.
void WriteQueue::TakeBatch(std::vector<std::shared_ptr<const std::string>>& frames, bool& binary) {
  binary = queue_[queue_head_].binary;
  in_flight_bytes_ = 0;
  size_t& i = queue_head_;
  while (i < queue_.size() && queue_[i].binary == binary &&
         Fits(frames.size(), in_flight_bytes_, queue_[i].bytes->size())) {
    in_flight_bytes_ += queue_[i].bytes->size();
    frames.push_back(std::move(queue_[i].bytes));
    ++i;
  }
  // Taken frames leave a prefix of empty slots: drop it when the queue
  // empties, or when it is most of the vector (amortised O(1) per frame).
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
  } else if (queue_head_ > 64 && queue_head_ * 2 > queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(queue_head_));
    queue_head_ = 0;
  }
}

}  // namespace flare
