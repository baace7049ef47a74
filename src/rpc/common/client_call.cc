#include "rpc/common/client_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "rpc/common/call_metadata.h"

namespace flare::rpc {

RpcCaller::RpcCaller(std::string service, RpcOptions options, RpcSeams seams)
    : service_(std::move(service)),
      options_(options),
      clock_(seams.clock ? *seams.clock : SystemClock::Instance()),
      sleeper_(seams.sleeper ? *seams.sleeper : RealSleeper::Instance()),
      own_random_(seams.random ? nullptr : std::make_unique<SystemRandom>()),
      random_(seams.random ? *seams.random : *own_random_) {}

TraceContext RpcCaller::OutgoingTrace() {
  const TraceContext* current = CurrentTrace();
  std::lock_guard lock(random_mu_);
  TraceContext out;
  out.request_id = current && !current->request_id.empty() ? current->request_id
                                                           : MakeUlid(clock_.NowMs(), random_);
  auto parent = current ? TraceParent::Parse(current->traceparent) : std::nullopt;
  out.traceparent = (parent ? ChildSpan(*parent, random_) : NewTrace(random_)).ToString();
  return out;
}

int64_t RpcCaller::NextBackoffMs(int retry) {
  std::lock_guard lock(random_mu_);
  return BackoffDelayMs(options_.retry, retry, random_);
}

bool RpcCaller::MayRetry(const grpc::Status& status, Idempotency idempotency, int attempt,
                         int64_t deadline_ms) const {
  if (idempotency != Idempotency::kIdempotent || attempt >= options_.retry.max_attempts) {
    return false;
  }
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return true;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      // Only an attempt's own timeout: the call's deadline has time left.
      return clock_.MonotonicMs() < deadline_ms;
    default:
      return false;
  }
}

Status RpcCaller::Call(std::string_view method, const Principal& who, Idempotency idempotency,
                       const Attempt& attempt) {
  TraceContext trace = OutgoingTrace();
  const int64_t deadline_ms = clock_.MonotonicMs() + options_.deadline_ms;
  for (int n = 1;; ++n) {
    int64_t remaining_ms = std::max<int64_t>(1, deadline_ms - clock_.MonotonicMs());
    int64_t attempt_ms = options_.retry.attempt_timeout_ms > 0
                             ? std::min(remaining_ms, options_.retry.attempt_timeout_ms)
                             : remaining_ms;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(attempt_ms));
    AttachCallMetadata(context, who, trace);
    grpc::Status result = attempt(context);
    if (result.ok()) return Status::Ok();
    Status status = FromGrpcStatus(result, context);
    if (!MayRetry(result, idempotency, n, deadline_ms)) {
      spdlog::debug("rpc {}/{} failed after {} attempt(s): {} tenant={} user={} request_id={}",
                    service_, method, n, status.ToString(), who.tenant, who.user_id,
                    trace.request_id);
      return status;
    }
    int64_t backoff_ms = NextBackoffMs(n);
    if (clock_.MonotonicMs() + backoff_ms >= deadline_ms) return status;  // no time to retry
    spdlog::debug("rpc {}/{} attempt {} failed: {}; retrying in {} ms request_id={}", service_,
                  method, n, status.ToString(), backoff_ms, trace.request_id);
    sleeper_.SleepMs(backoff_ms);
  }
}

}  // namespace flare::rpc
