// The gateway inbox on the event bus (bus.gateway_delivery = "bus"):
// records are published on bus.gateway_topic keyed by the destination
// gateway's id, where its GatewayInbox reads them. A record the producer's
// bounded queue does not take, or that the bus fails to store, is lost.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "ports/event_bus.h"
#include "services/signaling/inbox/inbox_transport.h"

namespace flare {

class BusInboxTransport final : public InboxTransport {
 public:
  // `publish_failures` may be null.
  BusInboxTransport(std::string topic, std::unique_ptr<BusProducer> producer,
                    Counter* publish_failures)
      : topic_(std::move(topic)), producer_(std::move(producer)), losses_(publish_failures) {}
  ~BusInboxTransport() override { Close(0); }

  void Publish(const std::string& gateway_id, std::string record, const char* what) override;
  void Close(int timeout_ms) override;

 private:
  const std::string topic_;
  std::shared_mutex mu_;  // publishers share it; Close takes it alone
  std::unique_ptr<BusProducer> producer_;
  InboxLosses losses_;
};

}  // namespace flare
