#include "services/signaling/gateway/gateway.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "common/logging.h"
#include "services/signaling/online/session_revocations.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {
constexpr uint16_t kCloseAuthFailed = 4001;
constexpr uint16_t kCloseTryAgainLater = 1013;  // RFC 6455 registry: "Try Again Later"
constexpr uint16_t kCloseAuthTimeout = 4002;
constexpr uint16_t kCloseIdle = 4003;
constexpr char kDisplacedReason[] = "signed in on another device";
}  // namespace

Gateway::~Gateway() {
  for (auto& lane : login_lanes_) lane->Stop();  // queued logins and logouts finish first
  deps_.presence.SetNoticeSink(nullptr);         // the bus's thread must not reach a dead gateway
  StopTimer();
}

bool Gateway::OnLoginLane(const std::string& tenant, const std::string& user,
                          std::function<void()> task) {
  size_t lane = std::hash<std::string>{}(tenant + '\n' + user) % login_lanes_.size();
  return login_lanes_[lane]->Submit(std::move(task));
}

Gateway::SessionPtr Gateway::Find(uint64_t id) {
  Shard& shard = ShardFor(id);
  std::lock_guard lock(shard.mu);
  auto it = shard.sessions.find(id);
  return it == shard.sessions.end() ? nullptr : it->second;
}

std::vector<Gateway::SessionPtr> Gateway::Snapshot() const {
  std::vector<SessionPtr> out;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [id, s] : shard.sessions) out.push_back(s);
  }
  return out;
}

size_t Gateway::SessionCount() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.sessions.size();
  }
  return n;
}

std::vector<Principal> Gateway::OnlineSessions(const std::string& tenant) const {
  std::vector<Principal> out;
  for (const auto& session : Snapshot()) {
    auto who = session->principal();
    if (who && who->tenant == tenant) out.push_back(std::move(*who));
  }
  return out;
}

size_t Gateway::KickUser(const std::string& tenant, const std::string& user_id,
                         const std::string& reason) {
  size_t kicked = 0;
  for (const auto& session : Snapshot()) {
    auto who = session->principal();
    if (!who || who->tenant != tenant || who->user_id != user_id) continue;
    Kick(session->id(), reason);
    ++kicked;
  }
  // The user's sessions on the other gateways of a cluster, by the route table.
  std::vector<DeviceRoute> routes;
  if (others_ == nullptr || !deps_.routes.Lookup(tenant, user_id, routes).ok()) return kicked;
  for (const DeviceRoute& route : routes) {
    if (route.gateway_id == options_.gateway_id) continue;
    others_->Kick(route.gateway_id, route.session_id, reason);
    ++kicked;
  }
  return kicked;
}

void Gateway::OnOpen(const std::shared_ptr<Connection>& conn, std::string handshake_token) {
  auto session = std::make_shared<ClientSession>(conn, deps_.clock.MonotonicMs(),
                                                 options_.session_limits, &deps_.metrics);
  conn->set_attachment(session);
  {
    Shard& shard = ShardFor(conn->id());
    std::lock_guard lock(shard.mu);
    shard.sessions.emplace(conn->id(), session);
  }
  deps_.metrics.connections.Add(1);
  deps_.metrics.connections_total.Add();
  if (handshake_token.empty()) {
    AdmitUnauthenticated(session);
  } else {
    Authenticate(session, "", handshake_token);  // closes the connection if it fails
  }
}

void Gateway::OnClose(const std::shared_ptr<Connection>& conn) {
  conn->set_attachment(nullptr);  // the session holds the connection: break the cycle
  SessionPtr session;
  {
    Shard& shard = ShardFor(conn->id());
    std::lock_guard lock(shard.mu);
    auto it = shard.sessions.find(conn->id());
    if (it == shard.sessions.end()) return;
    session = std::move(it->second);
    shard.sessions.erase(it);
  }
  deps_.metrics.connections.Add(-1);
  ReleaseLimits(session);
  if (auto who = session->principal()) {
    deps_.presence.Unsubscribe(who->tenant, session->id(), session->Subscriptions());
    WriteDeliveredCursors(*session);
    deps_.metrics.authenticated.Add(-1);
    // Off the I/O thread and after the user's login, on its lane: the
    // route table may be remote.
    RemoveRouteOnLane({*who, session->id(), session->route_registering()});
  }
}

void Gateway::OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data, bool binary) {
  // OnOpen, OnFrame and OnClose of one connection run on its I/O thread, so
  // the attachment is set and alive here without a map lookup.
  auto* raw = static_cast<ClientSession*>(conn->attachment());
  if (raw == nullptr) return;
  SessionPtr owned = raw->shared_from_this();
  deps_.metrics.frames_in.Add();
  Encoding encoding = binary ? Encoding::kBinary : Encoding::kJson;
  owned->OnFrameReceived(encoding, deps_.clock.MonotonicMs());
  auto frame = DecodeClientFrame(data, encoding);
  if (!frame.ok()) {
    deps_.metrics.frames_bad.Add();
    owned->ReplyError("", pb::ERROR_CODE_BAD_FRAME, frame.status().message());
    return;
  }
  HandleFrame(owned, *frame);
}

void Gateway::HandleFrame(const SessionPtr& s, pb::ClientFrame& frame) {
  const std::string& rid = frame.request_id();
  if (!IsValidRequestId(rid)) {  // answered without it: it is not safe to echo
    deps_.metrics.frames_bad.Add();
    s->ReplyError("", pb::ERROR_CODE_INVALID_ARGUMENT,
                  "request_id must be at most " + std::to_string(kMaxRequestIdBytes) +
                      " printable ASCII characters");
    return;
  }
  LogContext log_context(rid);  // what is logged while handling it names the request
  switch (frame.body_case()) {
    case pb::ClientFrame::kAuth:
      Authenticate(s, rid, frame.auth().token());
      return;
    case pb::ClientFrame::kPing: {
      pb::ServerFrame reply;
      reply.mutable_pong()->set_client_time_ms(frame.ping().client_time_ms());
      reply.mutable_pong()->set_server_time_ms(deps_.clock.NowMs());
      s->Reply(rid, reply);
      return;
    }
    case pb::ClientFrame::BODY_NOT_SET:
      deps_.metrics.frames_bad.Add();
      s->ReplyError(rid, pb::ERROR_CODE_BAD_FRAME, "unknown or empty frame type");
      return;
    default:
      break;
  }
  auto who = s->principal();
  if (!who) {
    s->ReplyError(rid, pb::ERROR_CODE_UNAUTHENTICATED, "authenticate first");
    return;
  }
  switch (frame.body_case()) {
    case pb::ClientFrame::kSend:
      HandleSend(s, *who, frame);
      return;
    case pb::ClientFrame::kPushAck:
      HandlePushAck(s, *who, frame);
      return;
    case pb::ClientFrame::kSync:
      HandleSync(s, *who, frame);
      return;
    case pb::ClientFrame::kBootstrap:
      HandleBootstrap(s, *who, frame);
      return;
    case pb::ClientFrame::kGroup:
      HandleGroup(s, *who, frame);
      return;
    case pb::ClientFrame::kMessageOp:
      HandleMessageOp(s, *who, frame);
      return;
    case pb::ClientFrame::kMarkRead:
      HandleMarkRead(s, *who, frame);
      return;
    case pb::ClientFrame::kReadCount:
      HandleReadCount(s, *who, frame);
      return;
    case pb::ClientFrame::kTyping:
      HandleTyping(s, *who, frame);
      return;
    case pb::ClientFrame::kRegisterDevice:
      HandleRegisterDevice(s, *who, frame);
      return;
    case pb::ClientFrame::kUnregisterDevice:
      HandleUnregisterDevice(s, *who, frame);
      return;
    case pb::ClientFrame::kMuteConversation:
      HandleMute(s, *who, frame);
      return;
    case pb::ClientFrame::kDoNotDisturb:
      HandleDoNotDisturb(s, *who, frame);
      return;
    case pb::ClientFrame::kPresence:
      HandlePresence(s, *who, frame);
      return;
    case pb::ClientFrame::kSearch:
      HandleSearch(s, *who, frame);
      return;
    default:
      return;
  }
}

void Gateway::Authenticate(const SessionPtr& s, const std::string& request_id,
                           const std::string& token) {
  if (s->principal()) {
    s->ReplyError(request_id, pb::ERROR_CODE_ALREADY_AUTHENTICATED, "already authenticated");
    return;
  }
  auto who = deps_.tokens.Verify(token, deps_.clock.NowMs() / 1000);
  if (who.ok() && !AdmitUser(s, *who, request_id)) return;
  if (!who.ok()) {
    deps_.metrics.auth_failures.Add();
    s->ReplyError(request_id, pb::ERROR_CODE_AUTH_FAILED, who.status().message());
    s->Close(kCloseAuthFailed, "authentication failed");
    return;
  }
  if (deps_.revocations == nullptr) return PassLoginGate(s, *who, request_id);
  // The revocation is read from the settings store (a network hop in a
  // cluster): on the user's login lane, and before the session has a
  // principal, so nothing it sends meanwhile is taken as the user's.
  std::weak_ptr<ClientSession> weak = s;
  if (!OnLoginLane(who->tenant, who->user_id, [this, weak, who = *who, request_id] {
        SessionPtr session = weak.lock();
        if (session && PassesRevocation(session, who, request_id))
          PassLoginGate(session, who, request_id);
      })) {
    s->ReplyError(request_id, pb::ERROR_CODE_UNAVAILABLE, "server busy; retry");
    s->Close(kCloseTryAgainLater, "server busy; retry");
  }
}

void Gateway::PassLoginGate(const SessionPtr& s, const Principal& who,
                            const std::string& request_id) {
  if (login_gate_ == nullptr || !login_gate_->Selects(who)) {
    return AcceptLogin(s, who, request_id);
  }
  // The business server's pre_login hooks answer on another thread; the
  // session is held weakly meanwhile (one that closes is not kept).
  std::weak_ptr<ClientSession> weak = s;
  login_gate_->Check(who, [this, weak, who, request_id](Status st, int32_t hook_code) {
    SessionPtr session = weak.lock();
    if (!session) return;
    if (st.ok()) return AcceptLogin(session, who, request_id);
    bool refused = st.code() == Code::kPermissionDenied;
    if (refused) deps_.metrics.auth_failures.Add();
    pb::ServerFrame frame;
    frame.mutable_error()->set_code(refused ? pb::ERROR_CODE_AUTH_FAILED
                                            : pb::ERROR_CODE_UNAVAILABLE);
    frame.mutable_error()->set_message(st.message());
    frame.mutable_error()->set_hook_code(hook_code);
    session->Reply(request_id, frame);
    session->Close(refused ? kCloseAuthFailed : kCloseTryAgainLater,
                   refused ? "authentication failed" : "login hook unavailable; retry");
  });
}

void Gateway::AcceptLogin(const SessionPtr& s, const Principal& who_ref,
                          const std::string& request_id) {
  std::optional<Principal> who = who_ref;
  if (!s->SetPrincipal(*who)) {
    deps_.metrics.auth_failures.Add();
    s->ReplyError(request_id, pb::ERROR_CODE_AUTH_FAILED, "already authenticated");
    s->Close(kCloseAuthFailed, "authentication failed");
    return;
  }
  deps_.metrics.authenticated.Add(1);
  // The route table and presence bus may be a network hop away (Redis, or
  // signaling-online over gRPC): the login runs on the user's login lane, never
  // on the I/O thread, and the client hears it is signed in once its route
  // is registered (pushes find it from then on).
  DeviceRoute route{options_.gateway_id, s->id(), who->device, who->platform};
  // The queued login holds the session weakly: one that closes meanwhile is
  // freed with its connection and buffers, not kept until the lane gets to it.
  std::weak_ptr<ClientSession> weak = s;
  if (!OnLoginLane(who->tenant, who->user_id, [this, weak, who = *who, route, request_id] {
        if (SessionPtr session = weak.lock()) Login(session, who, route, request_id);
      })) {
    s->ReplyError(request_id, pb::ERROR_CODE_UNAVAILABLE, "server busy; retry");
    s->Close(kCloseTryAgainLater, "server busy; retry");
  }
}

void Gateway::Login(const SessionPtr& s, const Principal& who, const DeviceRoute& route,
                    const std::string& request_id) {
  // Closed before its login ran: registering it would displace (kick) the
  // user's newer sessions for nothing.
  if (Find(s->id()) == nullptr) return;
  s->MarkRouteRegistering();
  std::optional<std::vector<DeviceRoute>> after;
  for (const DeviceRoute& displaced : deps_.presence.Login(
           who.tenant, who.user_id, route, options_.login_conflict.For(who.platform), after)) {
    // Session ids are unique per gateway only: another gateway's session
    // is kicked by that gateway. Without a router, it is not ours to touch
    // (a shared table can hold routes of a gateway that died).
    if (displaced.gateway_id == options_.gateway_id) {
      Kick(displaced.session_id, kDisplacedReason);
    } else if (others_ != nullptr) {
      others_->Kick(displaced.gateway_id, displaced.session_id, kDisplacedReason);
    }
  }
  if (Find(s->id()) == nullptr) {
    // Closed while the login ran: its OnClose may have removed the route
    // before it was registered, so remove it now (removing twice is fine).
    UnregisterRoute(who, s->id());
    return;
  }
  AnnouncePresence(who, true, after);
  if (deps_.on_login) deps_.on_login(who);
  pb::ServerFrame reply;
  auto* result = reply.mutable_auth_result();
  result->set_user_id(who.user_id);
  result->set_tenant(who.tenant);
  result->set_device(who.device);
  result->set_session_id(std::to_string(s->id()));
  result->set_server_time_ms(deps_.clock.NowMs());
  s->Reply(request_id, reply);
}

bool Gateway::PassesRevocation(const SessionPtr& s, const Principal& who,
                               const std::string& request_id) {
  if (deps_.revocations == nullptr) return true;
  auto refused = deps_.revocations->Refuses(who);
  if (refused.ok() && !*refused) return true;
  if (!refused.ok()) {
    spdlog::warn("login of {}/{} not let in: {}", who.tenant, who.user_id,
                 refused.status().ToString());
    s->ReplyError(request_id, pb::ERROR_CODE_UNAVAILABLE, "cannot log in now; retry");
    s->Close(kCloseTryAgainLater, "cannot log in now; retry");
    return false;
  }
  deps_.metrics.auth_failures.Add();
  s->ReplyError(request_id, pb::ERROR_CODE_AUTH_FAILED,
                "this token was issued before the user's sessions were revoked");
  s->Close(kCloseAuthFailed, "authentication failed");
  return false;
}

void Gateway::HandleSend(const SessionPtr& s, const Principal& who, pb::ClientFrame& frame) {
  if (!WithinRate(send_limiter_, s, who, frame.request_id(), "sends")) return;
  Status st = deps_.messages.Send(who, *frame.mutable_send(), ReplyTo(*s, frame.request_id()));
  if (!st.ok()) {
    deps_.metrics.send_rejected.Add();
    s->ReplyStatus(frame.request_id(), st);
  }
}

void Gateway::HandlePushAck(const SessionPtr& s, const Principal& who,
                            const pb::ClientFrame& frame) {
  const auto& ack = frame.push_ack();
  if (ack.conversation_id().empty() || ack.seq() <= 0) {
    s->ReplyError(frame.request_id(), pb::ERROR_CODE_INVALID_ARGUMENT,
                  "push_ack needs conversation_id and a positive seq");
    return;
  }
  deps_.metrics.push_acks.Add();
  s->Ack(ack.conversation_id(), ack.seq(),
         deps_.clock.NowMs());  // the cursor is written by the next Tick
}

void Gateway::OnReadThread(const SessionPtr& s, const std::string& request_id,
                           std::function<void()> task) {
  if (!deps_.blocking.Submit(std::move(task))) {
    s->ReplyError(request_id, pb::ERROR_CODE_UNAVAILABLE, "server busy; retry");
  }
}

void Gateway::HandleSync(const SessionPtr& s, const Principal& who, const pb::ClientFrame& frame) {
  OnReadThread(s, frame.request_id(),
               [this, s, who, request = frame.sync(), rid = frame.request_id()] {
                 auto result = deps_.reader.Sync(who, request);
                 if (!result.ok()) return s->ReplyStatus(rid, result.status());
                 pb::ServerFrame reply;
                 reply.mutable_sync_result()->Swap(&*result);
                 s->Reply(rid, reply);
               });
}

void Gateway::HandleBootstrap(const SessionPtr& s, const Principal& who,
                              const pb::ClientFrame& frame) {
  const std::string& request_id = frame.request_id();
  OnReadThread(s, request_id, [this, s, who, request_id, request = frame.bootstrap()] {
    auto result = deps_.sessions.Bootstrap(who, request);
    if (!result.ok()) return s->ReplyStatus(request_id, result.status());
    pb::ServerFrame reply;
    reply.mutable_bootstrap_result()->Swap(&*result);
    s->Reply(request_id, reply);
  });
}

void Gateway::Deliver(std::span<const SessionPushes> pushes) {
  int64_t now = deps_.clock.MonotonicMs();
  for (const auto& p : pushes) {
    if (SessionPtr s = Find(p.session_id)) s->Push(p.items, now);
  }
}

void Gateway::Notify(const std::vector<uint64_t>& session_ids,
                     const std::shared_ptr<const SharedFrame>& frame) {
  for (uint64_t id : session_ids) {
    if (SessionPtr s = Find(id)) s->Notify(*frame);
  }
}

void Gateway::OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) {
  // Commands of the HTTP API of this process carry this gateway's id, so
  // every path an outcome takes (writer, inbox, delivery service) ends here.
  if (IsApiReplyAddress(to)) {
    CommandReplies* api = api_replies_.load();
    if (api != nullptr && to.gateway_id == options_.gateway_id) api->OnCommandDone(to, outcome);
    return;
  }
  if (to.gateway_id != options_.gateway_id) {
    // Outcomes for other gateways go through the gateway inbox
    // (GatewayOutbox); reaching this one, the address is wrong.
    spdlog::warn("dropped an outcome addressed to gateway {}", to.gateway_id);
    return;
  }
  if (SessionPtr s = Find(to.session_id)) s->OnCommandDone(to.request_id, outcome);
}

void Gateway::Tick() {
  int64_t now = deps_.clock.MonotonicMs();
  for (RateLimiter* limiter : {&send_limiter_, &message_op_limiter_, &group_op_limiter_}) {
    limiter->Sweep();  // one shard per tick: idle users' buckets do not pile up
  }
  for (const auto& s : Snapshot()) {
    switch (s->Check(now, options_.auth_timeout_ms, options_.idle_timeout_ms)) {
      case SessionCheck::kAuthTimeout:
        s->ReplyError("", pb::ERROR_CODE_UNAUTHENTICATED, "authentication timed out");
        s->Close(kCloseAuthTimeout, "authentication timed out");
        continue;
      case SessionCheck::kIdleTimeout:
        s->Close(kCloseIdle, "idle timeout");
        continue;
      case SessionCheck::kOk:
        break;
    }
    std::vector<MessageRef> overdue;
    size_t resent =
        s->ResendDue(now, options_.resend_timeout_ms,
                     deps_.on_unacked ? options_.report_unacked_at_resend : 0, &overdue);
    if (resent > 0) deps_.metrics.pushes_resent.Add(static_cast<int64_t>(resent));
    if (!overdue.empty()) {
      if (auto who = s->principal()) deps_.on_unacked(*who, std::move(overdue));
    }
    WriteDeliveredCursors(*s);
  }
}

void Gateway::WriteDeliveredCursors(ClientSession& s) {
  auto cursors = s.TakeDeliveredCursors();
  if (cursors.empty()) return;
  auto who = s.principal();
  if (!who) return;
  for (const auto& [conv, seq] : cursors) {
    // Dropped when the writer is overloaded or stopping: the delivered
    // cursor is advisory (acks and sync decide what a device gets), and the
    // next ack in the conversation carries it again.
    (void)deps_.messages.MoveCursor(*who, conv, 0, seq, ReplyAddress{});
  }
}

void Gateway::UnregisterRoute(const Principal& who, uint64_t session_id) {
  if (Status st = deps_.routes.Unregister(who.tenant, who.user_id, session_id); !st.ok()) {
    // A stale route only costs pushes that find no session; it goes when
    // the table drops it (TTL in a shared table).
    spdlog::warn("route of {}/{} not removed: {}", who.tenant, who.user_id, st.ToString());
  }
}

void Gateway::StartTimer() {
  timer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "flare-timer");
    std::unique_lock lock(timer_mu_);
    while (!timer_cv_.wait_for(lock, std::chrono::milliseconds(options_.timer_interval_ms),
                               [this] { return timer_stop_; })) {
      lock.unlock();
      Tick();
      lock.lock();
    }
  });
}

void Gateway::StopTimer() {
  {
    std::lock_guard lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void Gateway::DrainAll(const std::string& reason) {
  for (const auto& s : Snapshot()) s->SendGoingAway(reason);
}

}  // namespace flare
