// push-server: takes every stored message, finds the online devices of
// every recipient (and the sender's other devices) and hands one shared,
// serialize-once frame to the gateway that holds them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ports/conversation_store.h"
#include "ports/route_table.h"
#include "services/signaling/gateway/frame_codec.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct PushItem {
  PushItem(std::string conv, int64_t s, ::flare::client::v1::ServerFrame f)
      : conversation_id(std::move(conv)), seq(s), frame(std::move(f)) {}
  std::string conversation_id;
  int64_t seq = 0;
  SharedFrame frame;
};

// The gateway's internal delivery interface (an RPC in cluster mode).
class PushDelivery {
 public:
  virtual ~PushDelivery() = default;
  virtual void Deliver(const std::vector<uint64_t>& session_ids,
                       const std::shared_ptr<const PushItem>& item) = 0;
};

class PushServer final : public StoredListener {
 public:
  PushServer(RouteTable& routes, ConversationStore& conversations, PushDelivery& delivery)
      : routes_(routes), conversations_(conversations), delivery_(delivery) {}

  void OnStored(const std::vector<StoredMessage>& messages) override;

 private:
  Status Recipients(const StoredMessage& sm, std::vector<std::string>& out);

  RouteTable& routes_;
  ConversationStore& conversations_;
  PushDelivery& delivery_;
  // Reused across calls; OnStored runs on the writer thread only.
  std::vector<std::string> users_;
  std::vector<DeviceRoute> routes_buf_;
  std::vector<uint64_t> sessions_;
};

}  // namespace flare
