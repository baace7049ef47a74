#include "adapters/memory/memory_hook_dead_letters.h"

namespace flare {

Status MemoryHookDeadLetters::Add(const HookDeadLetter& letter) {
  std::lock_guard lock(mu_);
  letters_.push_back(letter);
  if (letters_.size() > capacity_) letters_.pop_front();
  return Status::Ok();
}

Result<std::vector<HookDeadLetter>> MemoryHookDeadLetters::Recent(size_t limit) {
  std::lock_guard lock(mu_);
  size_t n = std::min(limit, letters_.size());
  return std::vector<HookDeadLetter>(letters_.end() - static_cast<std::ptrdiff_t>(n),
                                     letters_.end());
}

}  // namespace flare
