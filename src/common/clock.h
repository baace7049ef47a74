// Time behind a seam so that timeouts are tested without sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace flare {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall clock, for timestamps).
  virtual int64_t NowMs() const = 0;
  // Monotonic milliseconds, for timeouts.
  virtual int64_t MonotonicMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonotonicMs() const override;
  static const Clock& Instance();
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  int64_t MonotonicMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace flare
