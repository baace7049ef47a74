// signaling-gateway: turns WebSocket frames into calls on the domain
// services and delivers pushes to the connections it holds. Periodic checks
// (auth and idle timeouts, push resends) run from Tick(), driven by a timer
// thread in production and called directly by tests with a manual clock.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/connection_quota.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "ports/device_store.h"
#include "ports/route_table.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/session/session_service.h"
#include "services/signaling/gateway/client_session.h"
#include "services/signaling/gateway/rate_limiter.h"
#include "services/signaling/gateway/session_kicks.h"
#include "services/signaling/online/presence.h"
#include "services/storage/reader/storage_reader.h"

namespace flare {

class SessionRevocations;

struct GatewayOptions {
  std::string gateway_id = "local";
  int64_t auth_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 90'000;
  int64_t resend_timeout_ms = 5'000;
  // A push still unacked when it is resent for this many-th time is
  // reported through GatewayDeps::on_unacked (0: never).
  int64_t report_unacked_at_resend = 2;
  int64_t timer_interval_ms = 250;
  int64_t typing_interval_ms = 1'000;
  LoginConflictPolicy login_conflict;
  PresenceVisibility presence_visibility = PresenceVisibility::kSharedConversation;
  SessionLimits session_limits;
  size_t max_connections_per_user = 16;
  // Connections from one address that have not authenticated yet.
  size_t max_unauthenticated_per_address = 64;
  // Per user (all of its connections together).
  RateLimit send_limit;
  RateLimit message_op_limit;
  RateLimit group_op_limit;
  // Logins and logouts run off the I/O threads, one user's in order on one
  // of these lanes (a thread each), so a later login is never overtaken by
  // an earlier one or by an earlier logout of the same user.
  int login_lanes = 4;
  size_t login_lane_queue = 50'000;
};

struct GatewayDeps {
  const TokenSigner& tokens;
  MessageService& messages;
  StorageReader& reader;
  SessionService& sessions;
  RouteTable& routes;
  PresenceHub& presence;
  ConversationStore& conversations;  // typing audiences and read counts (read threads)
  MessageStore& store;               // read counts need the message's sender
  ConversationAccess& access;
  ThreadPool& blocking;  // storage reads run here, never on an I/O thread
  const Clock& clock;
  ServerMetrics& metrics;
  const DurableFence* fence = nullptr;  // read counts only for durable messages
  // Push devices and notification preferences (register_device, mute,
  // do_not_disturb), called on the read threads; null: those requests are
  // answered UNAVAILABLE. The device store of storage.backend, in embedded
  // mode and in the signaling-gateway role alike.
  DeviceStore* devices = nullptr;
  // Told of every completed login, on a login lane (the offline hand-off
  // notifies a device that came back again). May be empty.
  std::function<void(const Principal&)> on_login;
  // Told, on the timer thread, of pushes a connected device did not ack in
  // time (the offline hand-off notifies them). May be empty.
  std::function<void(const Principal&, std::vector<MessageRef>)> on_unacked;
  // Asked on the login lane whether the user's sessions were revoked after
  // the token was issued (then the login is refused). Null: never.
  SessionRevocations* revocations = nullptr;
};

// Asked before a login is registered (the hook engine's pre_login hooks).
// `done` runs once, on any thread: OK lets the login on; otherwise the
// client is refused with `status` (its detail, when set, the client error
// code) and `hook_code`.
class LoginGate {
 public:
  virtual ~LoginGate() = default;
  virtual bool Selects(const Principal& who) const = 0;
  virtual void Check(const Principal& who, std::function<void(Status, int32_t hook_code)> done) = 0;
};

class Gateway final : public ConnectionHandler,
                      public PushDelivery,
                      public CommandReplies,
                      public SessionKicks {
 public:
  Gateway(GatewayOptions options, GatewayDeps deps)
      : options_(std::move(options)),
        deps_(deps),
        send_limiter_(options_.send_limit, deps_.clock),
        message_op_limiter_(options_.message_op_limit, deps_.clock),
        group_op_limiter_(options_.group_op_limit, deps_.clock) {
    for (int i = 0; i < std::max(1, options_.login_lanes); ++i) {
      login_lanes_.push_back(std::make_unique<ThreadPool>(1, options_.login_lane_queue));
    }
    deps_.presence.SetNoticeSink([this](const std::vector<uint64_t>& sessions,
                                        const ::flare::client::v1::PresenceStatus& status) {
      OnPresenceNotice(sessions, status);
    });
  }
  ~Gateway() override;

  void OnOpen(const std::shared_ptr<Connection>& conn, std::string handshake_token) override;
  void OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data,
               bool binary) override;
  void OnClose(const std::shared_ptr<Connection>& conn) override;

  void Deliver(std::span<const SessionPushes> pushes) override;
  void Notify(const std::vector<uint64_t>& session_ids,
              const std::shared_ptr<const SharedFrame>& frame) override;
  // An outcome for one of this gateway's sessions (gone ones are skipped).
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override;

  // A session of this gateway displaced by a login on another (its kick
  // arrives through the gateway inbox).
  void KickSession(uint64_t session_id, const std::string& reason) override {
    Kick(session_id, reason);
  }

  // Typing notices and kicks for sessions of other processes' gateways go
  // here (with bus.backend = "kafka"; else they reach only this gateway's
  // sessions).
  void SetOtherGateways(GatewayRouter* others) { others_ = others; }
  // Set before the transport starts; it must outlive every login it checks.
  void SetLoginGate(LoginGate* gate) { login_gate_ = gate; }
  // Where outcomes of the HTTP API's commands go (IsApiReplyAddress);
  // set before commands flow.
  void SetApiReplies(CommandReplies* replies) { api_replies_ = replies; }

  void Tick();
  void StartTimer();
  void StopTimer();
  // Tells every client to reconnect elsewhere and closes its connection.
  void DrainAll(const std::string& reason);
  size_t SessionCount() const;
  // The logged-in sessions of `tenant` on this gateway (the admin view).
  std::vector<Principal> OnlineSessions(const std::string& tenant) const;
  // Closes every session of the user on this gateway, and asks the other
  // gateways (by the route table) to close theirs; how many were asked.
  size_t KickUser(const std::string& tenant, const std::string& user_id, const std::string& reason);
  // Registers routes again, each on its user's login lane (gateway_routes.cc):
  // kEverySession when the route table lost them (GatewayHeartbeat saw a
  // lapse: a Redis restarted empty), kUnfinished for those an earlier call
  // could not register (the table failed, or a login lane was full). While
  // one call's registrations are queued, the next starts nothing: a lapse
  // then waits for the next beat. Also queues the route removals of closed
  // sessions that a full lane refused. Returns how many were queued.
  size_t RegisterRoutesAgain(RouteRepair repair = RouteRepair::kEverySession);
  // True while RegisterRoutesAgain has work left: a lapse waiting, routes
  // not registered, removals not queued, or registrations still queued.
  bool RoutesIncomplete() const;

 private:
  using SessionPtr = std::shared_ptr<ClientSession>;
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, SessionPtr> sessions;
  };
  Shard& ShardFor(uint64_t id) { return shards_[id % kShards]; }
  SessionPtr Find(uint64_t id);
  ReplyAddress ReplyTo(const ClientSession& s, const std::string& request_id) const {
    return {options_.gateway_id, s.id(), request_id};
  }
  std::vector<SessionPtr> Snapshot() const;

  // Route repair (gateway_routes.cc).
  struct RouteRemoval {
    Principal who;
    uint64_t session_id;
    std::shared_ptr<const std::atomic<bool>> registering;
  };
  // On the user's login lane: removes a closed session's route (if its
  // login registered one) and announces the presence change. When the lane
  // is full, kept for RegisterRoutesAgain to queue at the next heartbeat.
  void RemoveRouteOnLane(const RouteRemoval& removal);
  std::optional<std::vector<SessionPtr>> SessionsToRegisterAgain(RouteRepair repair);
  void RegisteredAgain(uint64_t session_id, bool ok);  // a queued registration ran
  mutable std::mutex repair_mu_;
  size_t repair_in_flight_ = 0;                 // registrations queued, not yet run
  bool repair_every_session_ = false;           // a lapse waits for them
  std::unordered_set<uint64_t> repair_failed_;  // sessions to register again
  std::vector<RouteRemoval> removals_refused_;  // closed sessions whose lane was full

  void Authenticate(const SessionPtr& s, const std::string& request_id, const std::string& token);
  // Registers the route of a session just authenticated, kicks what it
  // displaces, announces presence and answers the auth request (on a
  // blocking thread).
  // The user's revocation (SessionRevocations), then the pre_login hooks.
  bool PassesRevocation(const SessionPtr& s, const Principal& who, const std::string& request_id);
  void PassLoginGate(const SessionPtr& s, const Principal& who, const std::string& request_id);
  void Login(const SessionPtr& s, const Principal& who, const DeviceRoute& route,
             const std::string& request_id);
  void HandleFrame(const SessionPtr& s, ::flare::client::v1::ClientFrame& frame);
  void HandleSend(const SessionPtr& s, const Principal& who,
                  ::flare::client::v1::ClientFrame& frame);
  void HandlePushAck(const SessionPtr& s, const Principal& who,
                     const ::flare::client::v1::ClientFrame& frame);
  void HandleSync(const SessionPtr& s, const Principal& who,
                  const ::flare::client::v1::ClientFrame& frame);
  void HandleBootstrap(const SessionPtr& s, const Principal& who, const pb::ClientFrame& frame);
  // gateway_features.cc: groups, message events, read state, typing, presence, search.
  void HandleGroup(const SessionPtr& s, const Principal& who, ::flare::client::v1::ClientFrame& f);
  void HandleMessageOp(const SessionPtr& s, const Principal& who,
                       ::flare::client::v1::ClientFrame& f);
  void HandleMarkRead(const SessionPtr& s, const Principal& who,
                      const ::flare::client::v1::ClientFrame& f);
  void HandleReadCount(const SessionPtr& s, const Principal& who,
                       const ::flare::client::v1::ClientFrame& f);
  void HandleTyping(const SessionPtr& s, const Principal& who,
                    const ::flare::client::v1::ClientFrame& f);
  void HandlePresence(const SessionPtr& s, const Principal& who,
                      const ::flare::client::v1::ClientFrame& f);
  void HandleSearch(const SessionPtr& s, const Principal& who,
                    const ::flare::client::v1::ClientFrame& f);
  // gateway_devices.cc: push devices, mutes, do-not-disturb.
  void HandleRegisterDevice(const SessionPtr& s, const Principal& who,
                            const ::flare::client::v1::ClientFrame& f);
  void HandleUnregisterDevice(const SessionPtr& s, const Principal& who,
                              const ::flare::client::v1::ClientFrame& f);
  void HandleMute(const SessionPtr& s, const Principal& who,
                  const ::flare::client::v1::ClientFrame& f);
  void HandleDoNotDisturb(const SessionPtr& s, const Principal& who,
                          const ::flare::client::v1::ClientFrame& f);
  // Runs `call` on a read thread and answers ok, or its error.
  void OnDeviceStore(const SessionPtr& s, const std::string& request_id,
                     std::function<Status(DeviceStore&)> call);
  // Applies a presence request already checked against the visibility policy.
  void ApplyPresence(const SessionPtr& s, const Principal& who, const std::string& request_id,
                     const ::flare::client::v1::PresenceRequest& req);
  // Tells subscribers the user came online (`routes` after a login: this is
  // its only one) or went offline (none left after a logout); routes not
  // listed with the change are looked up.
  void AnnouncePresence(const Principal& who, bool online,
                        const std::optional<std::vector<DeviceRoute>>& routes);
  // A presence notice from any gateway, for this process's subscribers.
  void OnPresenceNotice(const std::vector<uint64_t>& sessions,
                        const ::flare::client::v1::PresenceStatus& status);
  // False, after a RATE_LIMITED reply with the wait, when `who` is over the rate.
  bool WithinRate(RateLimiter& limiter, const SessionPtr& s, const Principal& who,
                  const std::string& request_id, const char* what);
  // Connection limits (per user, unauthenticated per address).
  bool AdmitUnauthenticated(const SessionPtr& s);
  bool AdmitUser(const SessionPtr& s, const Principal& who, const std::string& request_id);
  // The part of Authenticate after the token (and the login gate) passed.
  void AcceptLogin(const SessionPtr& s, const Principal& who, const std::string& request_id);
  void ReleaseLimits(const SessionPtr& s);
  void WriteDeliveredCursors(ClientSession& s);
  void UnregisterRoute(const Principal& who, uint64_t session_id);
  void Kick(uint64_t session_id, const std::string& reason);
  // Queues `task` on the login lane of tenant/user; false when it is full
  // or stopping.
  bool OnLoginLane(const std::string& tenant, const std::string& user, std::function<void()> task);
  // Runs `task` on a read thread; answers UNAVAILABLE when the pool is full.
  void OnReadThread(const SessionPtr& s, const std::string& request_id, std::function<void()> task);

  // Sends a typing notice to every route's session, on whichever gateway.
  void NotifyRoutes(const std::vector<UserRoute>& routes, pb::ServerFrame notice);

  GatewayOptions options_;
  GatewayDeps deps_;
  GatewayRouter* others_ = nullptr;
  LoginGate* login_gate_ = nullptr;
  std::atomic<CommandReplies*> api_replies_{nullptr};
  std::array<Shard, kShards> shards_;
  ConnectionQuota user_connections_;  // keyed tenant '\n' user
  ConnectionQuota unauthenticated_;   // keyed by source address
  RateLimiter send_limiter_;
  RateLimiter message_op_limiter_;
  RateLimiter group_op_limiter_;

  std::vector<std::unique_ptr<ThreadPool>> login_lanes_;  // see GatewayOptions::login_lanes

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
  std::thread timer_;
};

}  // namespace flare
