// The receiving side of the gateway inbox (bus.backend = "kafka"): one
// consumer on bus.gateway_topic in a group of its own,
// "flare-gateway-<gateway id>", that starts at the topic's end (a new
// gateway has no use for replies to its predecessors). Every gateway reads
// the whole topic and skips records keyed for another gateway without
// decoding them; the rest go to this process's gateway through an
// InboxDispatcher (as the gRPC delivery service's do). Offsets are
// committed every commit_interval_ms: a crash replays at most that much,
// and a gateway id is new for every start, so nothing is replayed to a
// session it does not hold.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "ports/event_bus.h"
#include "services/push/server/push_server.h"
#include "services/signaling/gateway/session_kicks.h"
#include "services/signaling/inbox/inbox_dispatcher.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct GatewayInboxOptions {
  std::string topic = "flare.gateways";
  std::string gateway_id;
  int max_poll_records = 1024;
  int poll_timeout_ms = 100;
  int64_t commit_interval_ms = 1'000;
  // Start waits this long for the topic's partitions to be assigned, so
  // that replies to the first requests are not published before the
  // inbox's start position is fixed.
  int64_t join_timeout_ms = 10'000;
};

class GatewayInbox final : public BusConsumerListener {
 public:
  // `received` (may be null) counts the records for this gateway.
  GatewayInbox(EventBus& bus, GatewayInboxOptions options, CommandReplies& replies,
               PushDelivery& delivery, SessionKicks& kicks, Counter* received);
  ~GatewayInbox() override;

  // Joins the group, waits for the assignment, and polls on a thread of
  // its own.
  Status Start();
  // Commits what was handed over and leaves the group.
  void Stop();

  void OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions) override;

 private:
  void Run();
  Status PollOnce();
  void Handle(const BusRecord& record);
  void CommitHandled();

  EventBus& bus_;
  const GatewayInboxOptions options_;
  InboxDispatcher dispatcher_;
  std::unique_ptr<BusConsumer> consumer_;  // the polling thread's (Start's before it runs)
  bool assigned_ = false;
  std::map<int32_t, int64_t> handled_;  // partition -> next offset, not yet committed
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace flare
