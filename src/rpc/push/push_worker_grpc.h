// push-worker over gRPC (push.v1.PushWorkerService): the server adapter
// over a PushWorker, and the statistics source push-proxy uses in a
// cluster, which asks every push-worker instance in discovery and adds up
// their answers. No gRPC in this header: wiring includes it.
#pragma once

#include <memory>

#include "ports/registry.h"
#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"
#include "services/push/proxy/push_api.h"
#include "services/push/worker/push_worker.h"

namespace flare {

// Serves `worker` (which must outlive the service).
RpcServicePtr NewPushWorkerGrpcService(PushWorker& worker);

// Statistics of a tenant summed over the instances of "push-worker" that
// `registry` resolves at each call; Unavailable when none answers.
std::unique_ptr<PushStatsSource> NewPushWorkerStatsClient(std::shared_ptr<Registry> registry,
                                                          const RpcOptions& options);

// push.v1.PushStats from push-worker's own figures.
::push::v1::PushStats ToProto(const PushStats& stats);

}  // namespace flare
