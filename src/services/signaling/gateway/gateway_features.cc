// Gateway handlers for groups, message events, read state, typing and
// presence. The changes go through the message orchestrator to the storage
// writer; reads run on the read threads.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/ids.h"
#include "services/signaling/gateway/gateway.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {
constexpr uint16_t kCloseKicked = 4004;
constexpr int kMaxPresenceUsers = 100;

Status ValidUserList(const google::protobuf::RepeatedPtrField<std::string>& users) {
  if (users.size() > kMaxPresenceUsers) {
    return InvalidArgument("at most " + std::to_string(kMaxPresenceUsers) + " users at once");
  }
  for (const auto& u : users) {
    if (!IsValidId(u)) return InvalidArgument("'" + u + "' is not a valid user id");
  }
  return Status::Ok();
}
}  // namespace

void Gateway::HandleGroup(const SessionPtr& s, const Principal& who, pb::ClientFrame& f) {
  if (!WithinRate(group_op_limiter_, s, who, f.request_id(), "group operations")) return;
  Status st = deps_.messages.Group(who, *f.mutable_group(), ReplyTo(*s, f.request_id()));
  if (!st.ok()) s->ReplyStatus(f.request_id(), st);
}

void Gateway::HandleMessageOp(const SessionPtr& s, const Principal& who, pb::ClientFrame& f) {
  if (!WithinRate(message_op_limiter_, s, who, f.request_id(), "message operations")) return;
  Status st = deps_.messages.MessageOp(who, *f.mutable_message_op(), ReplyTo(*s, f.request_id()));
  if (!st.ok()) s->ReplyStatus(f.request_id(), st);
}

void Gateway::HandleMarkRead(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  if (f.mark_read().seq() <= 0) {
    return s->ReplyError(f.request_id(), pb::ERROR_CODE_INVALID_ARGUMENT, "seq must be positive");
  }
  Status st = deps_.messages.MoveCursor(who, f.mark_read().conversation_id(), f.mark_read().seq(),
                                        0, ReplyTo(*s, f.request_id()));
  if (!st.ok()) s->ReplyStatus(f.request_id(), st);
}

// A search reads the store (an index scan and a join): on a read thread.
void Gateway::HandleSearch(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  OnReadThread(s, f.request_id(), [this, s, who, request = f.search(), rid = f.request_id()] {
    auto result = deps_.reader.Search(who, request);
    if (!result.ok()) return s->ReplyStatus(rid, result.status());
    pb::ServerFrame reply;
    reply.mutable_search_result()->Swap(&*result);
    s->Reply(rid, reply);
  });
}

void Gateway::HandleReadCount(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  OnReadThread(s, f.request_id(), [this, s, who, req = f.read_count(), rid = f.request_id()] {
    auto conv = deps_.access.Resolve(who, "", req.conversation_id());
    if (!conv.ok()) return s->ReplyStatus(rid, conv.status());
    // Before a late joiner's join point the history is not theirs to see.
    if (req.seq() < conv->joined_seq) return s->ReplyStatus(rid, NotFound("no such message"));
    auto message = deps_.store.Get(who.tenant, conv->conversation_id, req.seq());
    if (!message.ok()) return s->ReplyStatus(rid, message.status());
    bool durable =
        !deps_.fence || req.seq() <= deps_.fence->VisibleUpTo(who.tenant, conv->conversation_id);
    if (!message->has_value() || !durable) return s->ReplyStatus(rid, NotFound("no such message"));
    auto readers = deps_.conversations.CountReaders(who.tenant, conv->conversation_id, req.seq(),
                                                    (*message)->sender());
    auto members = deps_.conversations.Members(who.tenant, conv->conversation_id);
    if (!readers.ok()) return s->ReplyStatus(rid, readers.status());
    if (!members.ok()) return s->ReplyStatus(rid, members.status());
    pb::ServerFrame reply;
    auto* r = reply.mutable_read_count_result();
    r->set_conversation_id(conv->conversation_id);
    r->set_seq(req.seq());
    r->set_read_count(*readers);
    r->set_member_count(static_cast<int64_t>(members->size()));
    s->Reply(rid, reply);
  });
}

void Gateway::HandleTyping(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  // The id rules every request follows, checked before the id becomes a
  // rate-limit key (membership is checked on the read thread).
  auto valid =
      deps_.access.Resolve(who, "", f.typing().conversation_id(), MembershipCheck::kDeferred);
  if (!valid.ok()) return s->ReplyStatus(f.request_id(), valid.status());
  const std::string& conv_id = valid->conversation_id;
  if (!s->AllowTyping(conv_id, deps_.clock.MonotonicMs(), options_.typing_interval_ms)) {
    return s->ReplyError(f.request_id(), pb::ERROR_CODE_RATE_LIMITED, "typing notices too often");
  }
  OnReadThread(s, f.request_id(), [this, s, who, conv_id, rid = f.request_id()] {
    auto conv = deps_.access.Resolve(who, "", conv_id);
    if (!conv.ok()) return s->ReplyStatus(rid, conv.status());
    std::vector<std::string> users = conv->members;
    if (users.empty()) {
      auto members = deps_.conversations.Members(who.tenant, conv_id);
      if (!members.ok()) return s->ReplyStatus(rid, members.status());
      users = std::move(members).value();
    }
    std::erase(users, who.user_id);
    std::vector<UserRoute> routes;  // one LookupMany: one round trip on a remote table
    if (Status st = deps_.routes.LookupMany(who.tenant, users, routes); !st.ok()) {
      return s->ReplyStatus(rid, st);
    }
    pb::ServerFrame notice;
    notice.mutable_typing()->set_conversation_id(conv->conversation_id);
    notice.mutable_typing()->set_user_id(who.user_id);
    NotifyRoutes(routes, std::move(notice));
    pb::ServerFrame ok;
    ok.mutable_ok();
    s->Reply(rid, ok);
  });
}

void Gateway::NotifyRoutes(const std::vector<UserRoute>& routes, pb::ServerFrame notice) {
  std::map<std::string, std::vector<uint64_t>> by_gateway;
  for (const auto& [user, r] : routes) {
    // Without a router only ours: a shared route table can hold routes of a
    // gateway that died, whose session ids mean nothing here.
    if (r.gateway_id == options_.gateway_id || others_ != nullptr) {
      by_gateway[r.gateway_id].push_back(r.session_id);
    }
  }
  auto frame = std::make_shared<const SharedFrame>(std::move(notice));
  for (const auto& [gateway, sessions] : by_gateway) {
    if (gateway == options_.gateway_id) {
      Notify(sessions, frame);
    } else {
      others_->Notify(gateway, sessions, frame);
    }
  }
}

void Gateway::HandlePresence(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  const auto& req = f.presence();
  for (const auto* list : {&req.subscribe(), &req.unsubscribe(), &req.query()}) {
    if (Status st = ValidUserList(*list); !st.ok()) return s->ReplyStatus(f.request_id(), st);
  }
  if (options_.presence_visibility == PresenceVisibility::kTenant ||
      (req.subscribe().empty() && req.query().empty())) {
    return ApplyPresence(s, who, f.request_id(), req);
  }
  // Who shares a conversation with the caller is a storage read: not on this I/O thread.
  OnReadThread(s, f.request_id(), [this, s, who, req, rid = f.request_id()] {
    std::vector<std::string> asked(req.subscribe().begin(), req.subscribe().end());
    asked.insert(asked.end(), req.query().begin(), req.query().end());
    Status visible = CheckSharesConversation(deps_.conversations, who.tenant, who.user_id, asked);
    if (!visible.ok()) return s->ReplyStatus(rid, visible);
    ApplyPresence(s, who, rid, req);
  });
}

void Gateway::ApplyPresence(const SessionPtr& s, const Principal& who,
                            const std::string& request_id, const pb::PresenceRequest& req) {
  std::vector<std::string> subscribe(req.subscribe().begin(), req.subscribe().end());
  std::vector<std::string> unsubscribe(req.unsubscribe().begin(), req.unsubscribe().end());
  if (Status st = s->AddSubscriptions(subscribe); !st.ok()) {
    return s->ReplyStatus(request_id, st);
  }
  deps_.presence.Subscribe(who.tenant, s->id(), subscribe);
  // From a read thread the connection may have closed meanwhile; OnClose
  // removes the session before it drops its subscriptions, so either it saw
  // these or we see it gone.
  if (!subscribe.empty() && !Find(s->id()))
    deps_.presence.Unsubscribe(who.tenant, s->id(), subscribe);
  deps_.presence.Unsubscribe(who.tenant, s->id(), unsubscribe);
  s->RemoveSubscriptions(unsubscribe);
  pb::ServerFrame reply;
  auto* result = reply.mutable_presence_result();
  for (const auto& u : req.query()) *result->add_statuses() = deps_.presence.Query(who.tenant, u);
  s->Reply(request_id, reply);
}

// Tells subscribers on every gateway when a user's first device comes
// online or last goes.
void Gateway::AnnouncePresence(const Principal& who, bool online,
                               const std::optional<std::vector<DeviceRoute>>& after) {
  std::vector<DeviceRoute> looked_up;
  // Not listed with the login or logout (it failed, or a signaling-online
  // of an older version does not list): looked up on their own.
  if (!after) {
    if (Status st = deps_.routes.Lookup(who.tenant, who.user_id, looked_up); !st.ok()) {
      spdlog::warn("presence of {}/{} not announced: {}", who.tenant, who.user_id, st.ToString());
      return;
    }
  }
  const std::vector<DeviceRoute>& routes = after ? *after : looked_up;
  if (online ? routes.size() != 1 : !routes.empty()) return;  // not a change of online state
  pb::PresenceStatus status;
  status.set_user_id(who.user_id);
  status.set_online(online);
  std::set<std::string> platforms;
  for (const auto& r : routes) platforms.insert(r.platform);
  for (const auto& p : platforms) status.add_platforms(p);
  deps_.presence.Announce(who.tenant, status);
}

void Gateway::OnPresenceNotice(const std::vector<uint64_t>& sessions,
                               const pb::PresenceStatus& status) {
  pb::ServerFrame notice;
  *notice.mutable_presence_notice() = status;
  Notify(sessions, std::make_shared<const SharedFrame>(std::move(notice)));
}

void Gateway::Kick(uint64_t session_id, const std::string& reason) {
  SessionPtr s = Find(session_id);
  if (!s) return;
  pb::ServerFrame frame;
  frame.mutable_kicked()->set_reason(reason);
  s->Reply("", frame);
  s->Close(kCloseKicked, reason);
  ReleaseLimits(s);  // its slot goes to the login that displaced it
  // No route to remove: the login that displaced it removed it, and the
  // close removes it again (on the user's login lane).
}

}  // namespace flare
