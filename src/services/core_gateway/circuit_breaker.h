// Circuit breakers, one per service the API calls (named by route tag):
// after `failures_to_open` consecutive failures (5xx answers: the service
// is down, slow or overloaded) calls fail fast for `open_ms`; then one trial
// call goes through (half open), and its outcome closes the breaker or
// opens it again. Time from the Clock. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace flare {

class CircuitBreaker {
 public:
  CircuitBreaker(const Clock& clock, int64_t failures_to_open, int64_t open_ms)
      : clock_(clock), failures_to_open_(failures_to_open), open_ms_(open_ms) {}

  // 0: the call may go ahead; else the milliseconds until it may be tried.
  int64_t Check(const std::string& name);
  void Record(const std::string& name, bool failed);
  bool IsOpen(const std::string& name);

 private:
  struct State {
    int64_t consecutive_failures = 0;
    int64_t open_until_ms = 0;  // 0: closed
    bool trial_in_flight = false;
    int64_t trial_started_ms = 0;
  };

  const Clock& clock_;
  const int64_t failures_to_open_;
  const int64_t open_ms_;
  std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace flare
