// The client half of every call between roles: one place that gives a
// call its deadline, metadata (principal, request id, traceparent) and
// retries, so each service's client only says which stub method to call.
// Included by src/rpc/ .cc files only.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "rpc/common/rpc_options.h"
#include "rpc/common/trace_context.h"
#include "services/signaling/online/token.h"

namespace flare::rpc {

// Only idempotent calls are retried: repeating the others could apply them
// twice. Each proto file says which of its calls are.
enum class Idempotency { kIdempotent, kNotIdempotent };

class RpcCaller {
 public:
  RpcCaller(std::string service, RpcOptions options, RpcSeams seams = {});

  // One attempt: calls the stub with a context prepared for it.
  using Attempt = std::function<grpc::Status(grpc::ClientContext&)>;

  // Runs `attempt` until it succeeds, fails in a way not worth retrying,
  // or the call's deadline or attempts run out. Every attempt carries the
  // same request id (the current one, else a new one) and traceparent (a
  // child span of the current trace, else a new trace).
  Status Call(std::string_view method, const Principal& who, Idempotency idempotency,
              const Attempt& attempt);

  // A read: an idempotent call (so retried) answering a `Response`;
  // `invoke(context, &response)` calls the stub, and every attempt starts
  // from an empty response.
  template <typename Response, typename Invoke>
  Result<Response> Read(std::string_view method, const Principal& who, Invoke invoke) {
    Response response;
    Status status = Call(method, who, Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
      response.Clear();
      return invoke(context, &response);
    });
    if (!status.ok()) return status;
    return response;
  }

  const RpcOptions& options() const { return options_; }

 private:
  TraceContext OutgoingTrace();
  int64_t NextBackoffMs(int retry);
  // Whether a failure of attempt `attempt` may be tried again before
  // `deadline_ms` (on the clock).
  bool MayRetry(const grpc::Status& status, Idempotency idempotency, int attempt,
                int64_t deadline_ms) const;

  std::string service_;
  RpcOptions options_;
  const Clock& clock_;
  Sleeper& sleeper_;
  std::mutex random_mu_;
  std::unique_ptr<Random> own_random_;  // when the seams give none
  Random& random_;
};

}  // namespace flare::rpc
