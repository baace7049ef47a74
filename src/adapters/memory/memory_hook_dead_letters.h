// HookDeadLetters in memory, bounded (the oldest letters go first): for
// tests and storage.backend = memory.
#pragma once

#include <deque>
#include <mutex>

#include "ports/hook_dead_letters.h"

namespace flare {

class MemoryHookDeadLetters final : public HookDeadLetters {
 public:
  explicit MemoryHookDeadLetters(size_t capacity = 10'000) : capacity_(capacity) {}
  Status Add(const HookDeadLetter& letter) override;
  Result<std::vector<HookDeadLetter>> Recent(size_t limit) override;

 private:
  size_t capacity_;
  std::mutex mu_;
  std::deque<HookDeadLetter> letters_;
};

}  // namespace flare
