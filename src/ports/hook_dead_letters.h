// HookDeadLetters: where a post-* hook delivery goes when every attempt
// failed, so that an operator can see (and later replay) what a business
// server never got. Adapters: memory (tests, storage.backend = memory) and
// sqlite (a table in <data_dir>/hooks.db).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct HookDeadLetter {
  std::string hook;
  std::string point;
  std::string event_id;
  std::string tenant;
  std::string payload;  // the request as the hook would have received it (JSON)
  int attempts = 0;
  std::string last_error;
  int64_t failed_at_ms = 0;  // wall clock
};

class HookDeadLetters {
 public:
  virtual ~HookDeadLetters() = default;
  virtual Status Add(const HookDeadLetter& letter) = 0;
  // The most recent `limit` letters, oldest first.
  virtual Result<std::vector<HookDeadLetter>> Recent(size_t limit) = 0;
};

}  // namespace flare
