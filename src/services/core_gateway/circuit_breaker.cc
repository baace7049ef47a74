#include "services/core_gateway/circuit_breaker.h"

namespace flare {

int64_t CircuitBreaker::Check(const std::string& name) {
  const int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(mu_);
  State& s = states_[name];
  if (s.open_until_ms == 0) return 0;
  if (now < s.open_until_ms) return s.open_until_ms - now;
  // One trial at a time; a trial not heard of for open_ms is given up.
  if (s.trial_in_flight && now - s.trial_started_ms < open_ms_) return open_ms_;
  s.trial_in_flight = true;
  s.trial_started_ms = now;
  return 0;
}

void CircuitBreaker::Record(const std::string& name, bool failed) {
  const int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(mu_);
  State& s = states_[name];
  bool trial = s.trial_in_flight;
  s.trial_in_flight = false;
  if (!failed) {
    s = State{};
    return;
  }
  ++s.consecutive_failures;
  if (trial || s.consecutive_failures >= failures_to_open_) s.open_until_ms = now + open_ms_;
}

bool CircuitBreaker::IsOpen(const std::string& name) {
  const int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(mu_);
  auto it = states_.find(name);
  return it != states_.end() && it->second.open_until_ms > now;
}

}  // namespace flare
