// Hands the records of the gateway inbox to this process's gateway,
// whichever transport brought them: the Kafka inbox topic (GatewayInbox)
// or the gRPC delivery service (rpc/gateway_delivery).
#pragma once

#include <string>
#include <string_view>

#include "common/metrics.h"
#include "common/result.h"
#include "services/push/server/push_server.h"
#include "services/signaling/gateway/session_kicks.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

class InboxDispatcher {
 public:
  // The sinks are the gateway `gateway_id` (they must outlive the
  // dispatcher); `received` (may be null) counts the records handled.
  InboxDispatcher(std::string gateway_id, CommandReplies& replies, PushDelivery& delivery,
                  SessionKicks& kicks, Counter* received)
      : gateway_id_(std::move(gateway_id)),
        replies_(replies),
        delivery_(delivery),
        kicks_(kicks),
        received_(received) {}

  // Decodes one record (gateway_record_codec) and hands it to its sink.
  // A record that does not decode is dropped: kInvalidArgument, nothing
  // handed over. Safe to call from several threads if the sinks are.
  Status Handle(std::string_view record);

  const std::string& gateway_id() const { return gateway_id_; }

 private:
  const std::string gateway_id_;
  CommandReplies& replies_;
  PushDelivery& delivery_;
  SessionKicks& kicks_;
  Counter* received_;
};

}  // namespace flare
