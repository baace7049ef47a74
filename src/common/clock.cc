#include "common/clock.h"

#include <chrono>

namespace flare {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

const Clock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace flare
