// How a gRPC client calls another role: the call's deadline and the retry
// policy of idempotent calls, from config (rpc.*), and the seams (clock,
// randomness, sleeping) its backoff runs on, so tests retry without
// waiting. No gRPC here.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "common/ids.h"

namespace flare {

struct RetryPolicy {
  int max_attempts = 3;  // 1 = no retry
  int64_t initial_backoff_ms = 20;
  int64_t max_backoff_ms = 1'000;
  int64_t attempt_timeout_ms = 0;  // 0: an attempt may use the whole call's deadline
};

struct RpcOptions {
  int64_t deadline_ms = 2'000;  // the whole call, retries included
  RetryPolicy retry;
};

// The roles whose clients exist; each may have its own deadline.
// kMessageOrchestrator: how long a submission may wait for its acceptance.
// kSignaling: signaling-online and signaling-route, which one route-table
// client calls.
enum class RpcService { kStorageReader, kSession, kMessageOrchestrator, kSignaling };

// rpc.* for calls to `service` (rpc.<service>.deadline_ms when set, else
// rpc.deadline_ms). LoadConfig has checked the values.
RpcOptions RpcOptionsFor(const Config& config, RpcService service);

// The wait before retry number `retry` (1 = the first retry): the initial
// backoff doubled per retry, capped at max_backoff_ms, then drawn
// uniformly from [half of it, all of it] ("equal jitter") so that clients
// failed by one outage do not retry in step.
int64_t BackoffDelayMs(const RetryPolicy& policy, int retry, Random& random);

// Waiting between attempts, behind a seam like time.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepMs(int64_t ms) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void SleepMs(int64_t ms) override;
  static Sleeper& Instance();
};

// What a client's backoff runs on; null members: the system's. `random`
// is called under the client's own lock.
struct RpcSeams {
  const Clock* clock = nullptr;
  Random* random = nullptr;
  Sleeper* sleeper = nullptr;
};

}  // namespace flare
