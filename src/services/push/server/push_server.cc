#include "services/push/server/push_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/ids.h"
#include "services/message_events.h"

namespace flare {

namespace {

bool IsLarge(const CommittedMessage& cm, size_t threshold) {
  return cm.audience && cm.audience->size() > threshold && cm.stored.message.visible_to().empty();
}

}  // namespace

void PushServer::CollectSessions(const std::string& tenant, const std::vector<std::string>& users,
                                 const std::string& skip_user, const std::string& skip_device) {
  // One LookupMany for the whole audience (one round trip on a remote
  // table), and none for the next message of the batch to the same audience.
  if (!lookup_valid_ || tenant != looked_up_tenant_ || users != looked_up_users_) {
    routes_buf_.clear();
    lookup_valid_ = true;
    if (Status st = routes_.LookupMany(tenant, users, routes_buf_); !st.ok()) {
      // The devices are not pushed to; they get the message by sync.
      spdlog::warn("route lookup for {} users of {} failed: {}", users.size(), tenant,
                   st.ToString());
      lookup_valid_ = false;
    }
    looked_up_tenant_ = tenant;
    looked_up_users_ = users;
  }
  local_.sessions.clear();
  for (auto& other : others_pushes_) other.sessions.clear();
  for (const auto& [user, r] : routes_buf_) {
    if (r.device == skip_device && users[user] == skip_user) continue;
    if (options_.gateway_id.empty() || r.gateway_id == options_.gateway_id) {
      local_.sessions.push_back(r.session_id);
    } else if (others_ != nullptr) {
      Other(r.gateway_id).sessions.push_back(r.session_id);
    }
  }
}

PushServer::GatewayPushes& PushServer::Other(const std::string& gateway_id) {
  for (auto& other : others_pushes_) {
    if (other.gateway_id == gateway_id) return other;
  }
  others_pushes_.emplace_back().gateway_id = gateway_id;
  return others_pushes_.back();
}

bool PushServer::AnySessions() const {
  if (!local_.sessions.empty()) return true;
  for (const auto& other : others_pushes_) {
    if (!other.sessions.empty()) return true;
  }
  return false;
}

void PushServer::PushOne(CommittedMessage& cm) {
  StoredMessage& sm = cm.stored;
  Message& m = sm.message;
  users_.clear();
  if (cm.audience) {
    users_ = *cm.audience;
  } else if (auto pair = ParseSingleConversationId(m.conversation_id())) {
    users_.push_back(pair->first);
    if (pair->second != pair->first) users_.push_back(pair->second);
  }
  if (!m.visible_to().empty()) {
    // A delete-for-me event: in full to its user, as a placeholder to everyone
    // else, so every device still sees every seq.
    std::erase(users_, m.visible_to());
    Deliver(sm.tenant, users_, "", "", RedactFor(m));
    users_.assign(1, m.visible_to());
  }
  // The sending device gets an ack, not a push; the sender's other devices
  // get the push. The message moves into the frame: nothing reads it later.
  std::string sender = m.sender(), device = m.sender_device();
  Deliver(sm.tenant, users_, sender, device, std::move(m));
}

void PushServer::Deliver(const std::string& tenant, const std::vector<std::string>& users,
                         const std::string& skip_user, const std::string& skip_device, Message m) {
  CollectSessions(tenant, users, skip_user, skip_device);
  if (!AnySessions()) return;
  std::string conversation = m.conversation_id();
  int64_t seq = m.seq();
  ::flare::client::v1::ServerFrame frame;
  frame.mutable_push()->add_messages()->Swap(&m);
  Queue(std::make_shared<const PushItem>(std::move(conversation), seq, std::move(frame)));
}

void PushServer::GatewayPushes::Queue(const std::shared_ptr<const PushItem>& item) {
  for (uint64_t session : sessions) {
    auto [it, fresh] = slot_of.try_emplace(session, slots_used);
    if (fresh) {
      if (slots_used == by_session.size()) by_session.emplace_back();
      by_session[slots_used].session_id = session;
      ++slots_used;
    }
    by_session[it->second].items.push_back(item);
  }
}

void PushServer::GatewayPushes::Clear() {
  // Slots are kept (with their capacity) for the next batch.
  for (size_t i = 0; i < slots_used; ++i) by_session[i].items.clear();
  slots_used = 0;
  slot_of.clear();
}

void PushServer::Queue(const std::shared_ptr<const PushItem>& item) {
  local_.Queue(item);
  for (auto& other : others_pushes_) other.Queue(item);
}

// One hand-off per gateway per committed batch: every session gets all of
// its pushes at once, so its connection writes them together.
void PushServer::FlushQueued() {
  if (local_.slots_used > 0) delivery_.Deliver(local_.Queued());
  local_.Clear();
  for (auto& other : others_pushes_) {
    if (other.slots_used > 0) others_->Deliver(other.gateway_id, other.Queued());
    other.Clear();
  }
}

// Between batches (nothing queued): gateways of processes that stopped
// would otherwise stay here for good.
void PushServer::ForgetOtherGateways() {
  constexpr size_t kMaxOtherGateways = 64;
  if (others_pushes_.size() > kMaxOtherGateways) others_pushes_.clear();
}

void PushServer::NotifyCollected(::flare::client::v1::ServerFrame frame) {
  auto shared = std::make_shared<const SharedFrame>(std::move(frame));
  if (!local_.sessions.empty()) delivery_.Notify(local_.sessions, shared);
  for (const auto& other : others_pushes_) {
    if (!other.sessions.empty()) others_->Notify(other.gateway_id, other.sessions, shared);
  }
}

// One notice per large conversation per batch, for its highest seq.
void PushServer::AdvanceLarge(const std::vector<CommittedMessage>& messages) {
  std::map<std::pair<std::string, std::string>, const CommittedMessage*> last;
  for (const auto& cm : messages) {
    if (IsLarge(cm, options_.large_group_threshold)) {
      last[{cm.stored.tenant, cm.stored.message.conversation_id()}] = &cm;
    }
  }
  for (const auto& [key, cm] : last) {
    const Message& m = cm->stored.message;
    CollectSessions(cm->stored.tenant, *cm->audience, m.sender(), m.sender_device());
    if (!AnySessions()) continue;
    ::flare::client::v1::ServerFrame frame;
    frame.mutable_advanced()->set_conversation_id(m.conversation_id());
    frame.mutable_advanced()->set_max_seq(m.seq());
    NotifyCollected(std::move(frame));
  }
}

void PushServer::OnStored(std::vector<CommittedMessage>& messages) {
  lookup_valid_ = false;  // routes are reused within one batch only
  ForgetOtherGateways();
  bool any_large = false;
  for (auto& cm : messages) {
    if (IsLarge(cm, options_.large_group_threshold)) {
      any_large = true;
      continue;
    }
    PushOne(cm);
  }
  FlushQueued();
  if (any_large) AdvanceLarge(messages);
}

void PushServer::OnReadMoved(const std::vector<ReadMove>& moves) {
  lookup_valid_ = false;
  ForgetOtherGateways();
  for (const auto& move : moves) {
    // The reader's other devices, and in a 1:1 conversation the peer (a read receipt).
    users_.assign(1, move.user_id);
    if (auto pair = ParseSingleConversationId(move.conversation_id)) {
      const std::string& peer = pair->first == move.user_id ? pair->second : pair->first;
      if (peer != move.user_id) users_.push_back(peer);
    }
    CollectSessions(move.tenant, users_, move.user_id, move.device);
    if (!AnySessions()) continue;
    ::flare::client::v1::ServerFrame frame;
    auto* notice = frame.mutable_read_notice();
    notice->set_conversation_id(move.conversation_id);
    notice->set_user_id(move.user_id);
    notice->set_seq(move.seq);
    NotifyCollected(std::move(frame));
  }
}

}  // namespace flare
