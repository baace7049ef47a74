// The gateway's state for one connection: who it is, which encoding it
// speaks, and which pushes it has not acked yet. Thread-safe: I/O, writer,
// reader and timer threads all touch it, each under its own short lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "services/push/server/push_server.h"
#include "services/signaling/gateway/frame_codec.h"
#include "services/signaling/gateway/transport.h"
#include "services/signaling/online/token.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct SessionLimits {
  size_t max_unacked_pushes = 10'000;
  size_t max_send_queue_bytes = 8 * 1024 * 1024;
  // An unacked push is resent after the resend timeout, then after twice
  // that, four times ..., at most `max_resend_interval_ms` apart; when it is
  // due again after `max_resends` resends the connection is closed as a
  // slow (or dead) consumer and the device syncs when it reconnects.
  int64_t max_resends = 5;
  int64_t max_resend_interval_ms = 60'000;
  // Presence subscriptions one connection may hold.
  size_t max_subscriptions = 1'000;
  // Conversations whose last typing notice is remembered (to rate-limit
  // them); entries older than the typing interval are pruned to make room.
  size_t max_typing_conversations = 256;
};

// What a periodic check found a session must do.
enum class SessionCheck { kOk, kAuthTimeout, kIdleTimeout };

class ClientSession final : public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(std::shared_ptr<Connection> conn, int64_t now_ms, SessionLimits limits,
                ServerMetrics* metrics)
      : conn_(std::move(conn)),
        opened_ms_(now_ms),
        limits_(limits),
        metrics_(metrics),
        last_activity_ms_(now_ms) {}

  uint64_t id() const { return conn_->id(); }
  Connection& connection() { return *conn_; }

  // Records a received frame: its encoding becomes the reply encoding.
  void OnFrameReceived(Encoding encoding, int64_t now_ms);
  std::optional<Principal> principal() const;
  // False if the session was already authenticated.
  bool SetPrincipal(Principal who);

  void Reply(const std::string& request_id, ::flare::client::v1::ServerFrame& frame);
  void ReplyError(const std::string& request_id, ::flare::client::v1::ErrorCode code,
                  const std::string& text);
  // RATE_LIMITED with the wait after which the request would be allowed.
  void ReplyRateLimited(const std::string& request_id, const std::string& text,
                        int64_t retry_after_ms);
  void ReplyStatus(const std::string& request_id, const Status& status);
  void OnCommandDone(const std::string& request_id, const CommandOutcome& outcome);
  // Sends a notice frame (not tracked for acks).
  void Notify(const SharedFrame& frame);
  // Typing rate limit: true if a typing notice for `conversation_id` may go out now.
  bool AllowTyping(const std::string& conversation_id, int64_t now_ms, int64_t interval_ms);
  // Presence subscriptions of this session (for cleanup on close). Adds all
  // or none: an error when they would exceed `max_subscriptions`.
  Status AddSubscriptions(const std::vector<std::string>& users);
  void RemoveSubscriptions(const std::vector<std::string>& users);
  std::vector<std::string> Subscriptions() const;

  // Sends pushes (in seq order) and remembers them until acked.
  void Push(const std::vector<std::shared_ptr<const PushItem>>& items, int64_t now_ms);
  // Cumulative ack; returns how many pushes it settled. The delivered
  // cursor it implies is kept until TakeDeliveredCursors. `now_wall_ms`
  // (epoch ms) times each settled push's delivery from its message's
  // server_time_ms (flare_message_delivery_seconds).
  size_t Ack(const std::string& conversation_id, int64_t seq, int64_t now_wall_ms);
  // Delivered cursors acked since the last call (one per conversation), so
  // that many acks become one cursor write.
  std::vector<std::pair<std::string, int64_t>> TakeDeliveredCursors();
  // Resends the pushes that are due (see SessionLimits: backoff from
  // `timeout_ms`); returns how many. Closes the connection as a slow
  // consumer instead when a push is due after its last allowed resend.
  // With `report_at_resend` > 0, each push being resent for that many-th
  // time is added to `overdue` (once per push): the device did not ack it
  // in time, so the offline hand-off notifies it.
  size_t ResendDue(int64_t now_ms, int64_t timeout_ms, int64_t report_at_resend = 0,
                   std::vector<MessageRef>* overdue = nullptr);
  size_t UnackedCount() const;

  // Set by the login on the user's login lane just before it registers the
  // route; the logout (on the same lane, after it) has nothing to remove
  // when the login was skipped because the session had closed first.
  // (Shared, so that a queued logout holds the flag, not the whole session
  // with its connection and buffers.)
  void MarkRouteRegistering() { route_registering_->store(true, std::memory_order_relaxed); }
  std::shared_ptr<const std::atomic<bool>> route_registering() const { return route_registering_; }

  SessionCheck Check(int64_t now_ms, int64_t auth_timeout_ms, int64_t idle_timeout_ms) const;
  void Close(uint16_t code, const std::string& reason);
  void SendGoingAway(const std::string& reason);

 private:
  struct Unacked {
    int64_t seq;
    std::shared_ptr<const PushItem> item;
    int64_t sent_ms;
    int64_t resends = 0;
  };
  int64_t ResendDelay(int64_t timeout_ms, int64_t resends) const;
  // Sends bytes; closes the connection as a slow consumer if its queue is full.
  void Write(std::shared_ptr<const std::string> bytes, Encoding encoding);
  void CloseSlowConsumer(const char* why);
  void ObserveDelivery(const PushItem& item, int64_t now_wall_ms);

  std::shared_ptr<Connection> conn_;
  const int64_t opened_ms_;
  SessionLimits limits_;
  ServerMetrics* metrics_;

  mutable std::mutex mu_;
  Encoding encoding_ = Encoding::kBinary;
  int64_t last_activity_ms_;
  std::optional<Principal> principal_;
  std::unordered_map<std::string, std::deque<Unacked>> unacked_;  // by conversation
  size_t unacked_count_ = 0;
  bool closed_ = false;
  std::unordered_map<std::string, int64_t> last_typing_ms_;
  std::unordered_map<std::string, int64_t> delivered_;  // not yet written
  std::unordered_set<std::string> subscriptions_;
  const std::shared_ptr<std::atomic<bool>> route_registering_ =
      std::make_shared<std::atomic<bool>>(false);
};

}  // namespace flare
