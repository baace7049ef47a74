// How the records of the gateway inbox (gateway_record_codec) travel from
// the process that has them to the process whose gateway holds their
// sessions (bus.gateway_delivery): published on the Kafka inbox topic
// (BusInboxTransport) or written on a gRPC stream to that gateway
// (rpc/gateway_delivery). GatewayOutbox encodes; a transport only moves
// bytes keyed by the destination gateway's id.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"

namespace flare {

class InboxTransport {
 public:
  virtual ~InboxTransport() = default;
  // Queues `record` for gateway `gateway_id`; never waits for the network
  // (the storage writer's thread calls it). A record that cannot be sent is
  // lost, counted and logged (`what` names it in the log): its client
  // retries with its idempotency key or syncs.
  virtual void Publish(const std::string& gateway_id, std::string record, const char* what) = 0;
  // Waits up to `timeout_ms` for what is queued to be delivered, then
  // stops: later records are dropped.
  virtual void Close(int timeout_ms) = 0;
};

// Marks what one thread hands to transports while the scope lives as one
// batch (the storage writer opens one around answering and pushing a
// committed batch): a transport that can may hold those records and send
// them when the outermost scope ends, so a committed batch's outcomes and
// pushes for one gateway leave together. Scopes nest; holding is up to
// the transport (the bus publishes at once).
class InboxBatchScope {
 public:
  InboxBatchScope();
  ~InboxBatchScope();  // runs what was deferred, in order
  InboxBatchScope(const InboxBatchScope&) = delete;
  InboxBatchScope& operator=(const InboxBatchScope&) = delete;

  // Whether a scope is open on this thread.
  static bool Active();
  // Runs `at_end` when this thread's outermost scope ends; only while
  // Active().
  static void Defer(std::function<void()> at_end);
};

// Records a transport lost: counted always (in `counter`, which may be
// null, and in count()), logged at most once a second (an outage fails
// every record).
class InboxLosses {
 public:
  explicit InboxLosses(Counter* counter) : counter_(counter) {}
  void Lost(const std::string& gateway_id, std::string_view what, const Status& status,
            int64_t records = 1);
  int64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  Counter* counter_;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> last_log_ms_{0};
  std::atomic<int64_t> unlogged_{0};
};

}  // namespace flare
