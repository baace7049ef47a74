// The gateway inbox over gRPC (signaling.gateway.v1.GatewayDeliveryService,
// bus.gateway_delivery = "grpc"): the service a gateway serves on its role
// server, and the client storage writers and orchestrators hand inbox
// records to. No gRPC in this header: wiring includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/metrics.h"
#include "ports/gateway_directory.h"
#include "rpc/common/rpc_server.h"
#include "services/signaling/inbox/inbox_dispatcher.h"
#include "services/signaling/inbox/inbox_transport.h"

namespace flare {

// Serves `dispatcher` (which must outlive the service): every record of a
// batch is handed to the gateway in order, then the batch is acknowledged.
RpcServicePtr NewGatewayDeliveryGrpcService(InboxDispatcher& dispatcher);

struct GatewayDeliveryClientOptions {
  // Records queued for one gateway and not yet written; beyond it a record
  // is dropped (and counted).
  size_t max_queued_records = 10'000;
  // A stream message takes every queued record up to about this size
  // (gRPC refuses messages over 4 MB by default).
  size_t max_batch_bytes = 2 * 1024 * 1024;
  // A gateway whose stream has failed this long (presence.gateway_ttl_ms:
  // its routes are dead by then) is forgotten: its records are dropped.
  int64_t forget_after_ms = 30'000;
  // Wait between attempts to open a gateway's stream, doubled up to the
  // most.
  int64_t initial_backoff_ms = 20;
  int64_t max_backoff_ms = 1'000;
};

// What the client did, for tests and metrics.
struct GatewayDeliveryStats {
  uint64_t streams_opened = 0;
  uint64_t batches_written = 0;  // resends included
  uint64_t records_written = 0;  // resends included
  uint64_t batches_acked = 0;
  uint64_t batches_resent = 0;
  uint64_t gateways_forgotten = 0;
};

// One stream per gateway, opened on first record to the address the
// directory gives (channels cached per address). A sender thread per
// gateway writes everything queued for it as one DeliveryBatch per write
// and keeps the batches not yet acknowledged; after a broken stream they
// are written again first, once (delivering twice is safe: clients dedupe
// pushes by (conversation, seq) and outcomes by request id). Publish never
// waits for the network or the directory.
class GatewayDeliveryClient : public InboxTransport {
 public:
  virtual GatewayDeliveryStats stats() const = 0;
  // Records dropped so far (queue full, gateway unknown or forgotten,
  // second failure of a resent batch, closing).
  virtual int64_t lost() const = 0;
};

// `directory` must outlive the client; `lost` (may be null) counts what
// lost() does.
std::unique_ptr<GatewayDeliveryClient> NewGatewayDeliveryClient(
    GatewayDirectory& directory, Counter* lost, GatewayDeliveryClientOptions options = {});

}  // namespace flare
