// push-server: takes every stored message, finds the online devices of its
// audience (members of the conversation; the sender's other devices too)
// and hands one shared, serialize-once frame to the gateway that holds
// them. Above a member count, online members get a small "advanced" notice
// and pull instead. Also announces moved read cursors.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ports/route_table.h"
#include "services/push/server/offline_handoff.h"
#include "services/signaling/gateway/frame_codec.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct PushItem {
  PushItem(std::string conv, int64_t s, ::flare::client::v1::ServerFrame f)
      : conversation_id(std::move(conv)), seq(s), frame(std::move(f)) {}
  // An item that arrived serialized (`binary`: the frame's protobuf bytes).
  PushItem(std::string conv, int64_t s, ::flare::client::v1::ServerFrame f, std::string binary)
      : conversation_id(std::move(conv)), seq(s), frame(std::move(f), std::move(binary)) {}
  std::string conversation_id;
  int64_t seq = 0;
  SharedFrame frame;
};

struct SessionPushes {
  uint64_t session_id = 0;
  std::vector<std::shared_ptr<const PushItem>> items;
};

// The gateway's internal delivery interface: to the sessions it holds.
class PushDelivery {
 public:
  virtual ~PushDelivery() = default;
  // Message pushes for one committed batch, grouped by session (each
  // session's items in seq order): tracked until acked, resent on timeout.
  virtual void Deliver(std::span<const SessionPushes> pushes) = 0;
  // A notice (read, typing, presence, advanced): sent once, not tracked.
  virtual void Notify(const std::vector<uint64_t>& session_ids,
                      const std::shared_ptr<const SharedFrame>& frame) = 0;
};

// Delivery to the gateways of other processes, named by gateway id (with
// bus.backend = "kafka": the gateway inbox over the event bus).
class GatewayRouter {
 public:
  virtual ~GatewayRouter() = default;
  virtual void Deliver(const std::string& gateway_id, std::span<const SessionPushes> pushes) = 0;
  virtual void Notify(const std::string& gateway_id, const std::vector<uint64_t>& session_ids,
                      const std::shared_ptr<const SharedFrame>& frame) = 0;
  // Closes session `session_id` of gateway `gateway_id` (session ids are
  // unique per gateway only), telling its client `reason`: a login on
  // another gateway displaced it.
  virtual void Kick(const std::string& gateway_id, uint64_t session_id,
                    const std::string& reason) = 0;
};

struct PushOptions {
  size_t large_group_threshold = 2000;  // above: "advanced" notices instead of full pushes
  // The gateway this process runs: its routes go to the PushDelivery.
  // Routes of other gateways go to the GatewayRouter if there is one, else
  // nowhere (one process: a shared route table can still hold routes of a
  // gateway that died, whose session ids mean nothing here). Empty: every
  // route goes to the PushDelivery.
  std::string gateway_id;
};

class PushServer final : public StoredListener {
 public:
  // `others` (may be null) takes what is for gateways other than ours.
  PushServer(RouteTable& routes, PushDelivery& delivery, PushOptions options,
             GatewayRouter* others = nullptr)
      : routes_(routes), delivery_(delivery), options_(options), others_(others) {}

  void OnStored(std::vector<CommittedMessage>& messages) override;
  void OnReadMoved(const std::vector<ReadMove>& moves) override;

  // Where stored messages and read moves also go, with the routes looked
  // up for each batch, for recipients that are offline (null: nowhere).
  // Set before the writer starts.
  void SetOfflineSink(OfflineSink* offline) { offline_ = offline; }

 private:
  // One gateway's share of a committed batch: its sessions for the message
  // at hand, and its pushes grouped by session (slots reused across batches).
  struct GatewayPushes {
    std::string gateway_id;
    std::vector<uint64_t> sessions;
    std::unordered_map<uint64_t, size_t> slot_of;
    std::vector<SessionPushes> by_session;
    size_t slots_used = 0;
    void Queue(const std::shared_ptr<const PushItem>& item);
    std::span<const SessionPushes> Queued() const { return {by_session.data(), slots_used}; }
    void Clear();
  };

  static void AudienceOf(const CommittedMessage& cm, std::vector<std::string>& users);
  static void ReadAudience(const ReadMove& move, std::vector<std::string>& users);
  // Looks up the routes of `users_by_tenant` (one LookupMany per tenant)
  // for CollectSessions, until prefetch_active_ is reset.
  void Prefetch(const std::map<std::string, std::vector<std::string>>& users_by_tenant);
  void PrefetchBatch(const std::vector<CommittedMessage>& messages);
  void SessionsFromPrefetched(const std::string& tenant, const std::vector<std::string>& users,
                              const std::string& skip_user, const std::string& skip_device);
  void AddSession(const DeviceRoute& r, bool is_skip_user, const std::string& skip_device);
  // Session ids of `users`' online devices, without `skip_device` of
  // `skip_user`, into each gateway's `sessions`.
  void CollectSessions(const std::string& tenant, const std::vector<std::string>& users,
                       const std::string& skip_user, const std::string& skip_device);
  GatewayPushes& Other(const std::string& gateway_id);
  bool AnySessions() const;
  void PushOne(CommittedMessage& cm);
  void Deliver(const std::string& tenant, const std::vector<std::string>& users,
               const std::string& skip_user, const std::string& skip_device, Message m);
  void AdvanceLarge(const std::vector<CommittedMessage>& messages);
  // Hands `frame` to every gateway with sessions collected.
  void NotifyCollected(::flare::client::v1::ServerFrame frame);
  void Queue(const std::shared_ptr<const PushItem>& item);
  void FlushQueued();
  void ForgetOtherGateways();
  // What the offline hand-off needs of the batch's messages, copied before
  // they move into push frames.
  OfflineBatch OfflineMessages(const std::vector<CommittedMessage>& messages);

  RouteTable& routes_;
  PushDelivery& delivery_;
  PushOptions options_;
  GatewayRouter* others_;
  OfflineSink* offline_ = nullptr;
  // Reused across calls; the listener runs on the writer thread only.
  std::vector<std::string> users_;
  std::vector<UserRoute> routes_buf_;
  // The audience routes_buf_ holds, valid within one OnStored/OnReadMoved.
  bool lookup_valid_ = false;
  std::string looked_up_tenant_;
  std::vector<std::string> looked_up_users_;
  GatewayPushes local_;
  // Routes of a batch's recipients by tenant '\n' user (every recipient has
  // an entry, empty when offline), while prefetch_active_.
  std::unordered_map<std::string, std::vector<DeviceRoute>> prefetched_;
  bool prefetch_active_ = false;
  // Other processes' gateways met lately (few: one per live process).
  std::vector<GatewayPushes> others_pushes_;
};

}  // namespace flare
