// push-server's offline hand-off over gRPC (push.v1.PushSchedulerService):
// the server adapter over a DeviceActivitySink, and the client a gateway
// reports logins and unacked pushes to. The client gathers reports for a
// short while; each batch's logins go, one call per tenant, to every
// push-server instance that discovery resolves at the time (each holds the
// coalescing state of the conversations its writer stores); each unacked
// report goes to one instance, the same for a user while discovery's list
// stays the same (it reads the messages from the shared store). At stop,
// one last batch is sent and the rest counted as dropped; a push-server
// whose call failed is skipped for the rest of a flush. No gRPC in this
// header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "common/metrics.h"
#include "ports/registry.h"
#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"
#include "services/push/server/offline_handoff.h"

namespace flare {

// Serves the sink `sink()` returns at each call (it must outlive the
// service); while it returns null (no hand-off running in the process yet,
// or none at all) calls are UNAVAILABLE, so the caller counts the report as
// lost or tries another push-server.
RpcServicePtr NewPushSchedulerGrpcService(std::function<DeviceActivitySink*()> sink);

struct PushSchedulerClientOptions {
  int64_t flush_interval_ms = 50;  // how long a login may wait for others
  size_t max_batch = 512;          // reports per flush
  size_t max_pending = 100'000;    // past it, reports are dropped and counted
};

// The gateway's DeviceActivitySink in a cluster. Losing a report costs a
// notification at most (a conversation stays coalesced until the device
// reads it), never a message: reports that do not reach a push-server are
// counted in flare_push_reports_dropped_total, not retried past the call's
// own retries.
std::unique_ptr<DeviceActivitySink> NewPushSchedulerClient(std::shared_ptr<Registry> registry,
                                                           const RpcOptions& rpc,
                                                           PushSchedulerClientOptions options,
                                                           Metrics* metrics);

}  // namespace flare
