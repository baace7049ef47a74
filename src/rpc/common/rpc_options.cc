#include "rpc/common/rpc_options.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace flare {

RpcOptions RpcOptionsFor(const Config& config, RpcService service) {
  RpcOptions options;
  int64_t specific = 0;
  switch (service) {
    case RpcService::kStorageReader:
      specific = config.rpc_storage_reader_deadline_ms;
      break;
    case RpcService::kSession:
      specific = config.rpc_session_deadline_ms;
      break;
    case RpcService::kMessageOrchestrator:
      break;
    case RpcService::kSignaling:
      specific = config.rpc_signaling_deadline_ms;
      break;
  }
  options.deadline_ms = specific > 0 ? specific : config.rpc_deadline_ms;
  options.retry.max_attempts = static_cast<int>(config.rpc_retry_max_attempts);
  options.retry.initial_backoff_ms = config.rpc_retry_initial_backoff_ms;
  options.retry.max_backoff_ms = config.rpc_retry_max_backoff_ms;
  options.retry.attempt_timeout_ms = config.rpc_retry_attempt_timeout_ms;
  return options;
}

int64_t BackoffDelayMs(const RetryPolicy& policy, int retry, Random& random) {
  int64_t ceiling = std::max<int64_t>(1, policy.initial_backoff_ms);
  for (int i = 1; i < retry && ceiling < policy.max_backoff_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, std::max<int64_t>(1, policy.max_backoff_ms));
  int64_t half = ceiling / 2;
  uint64_t span = static_cast<uint64_t>(ceiling - half) + 1;
  return half + static_cast<int64_t>(random.Next() % span);
}

void RealSleeper::SleepMs(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Sleeper& RealSleeper::Instance() {
  static RealSleeper sleeper;
  return sleeper;
}

}  // namespace flare
