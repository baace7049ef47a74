#include "services/push/server/push_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "common/ids.h"
#include "services/message_events.h"

namespace flare {

namespace {

// Text kept of a message for its notification (the rest stays in the store).

bool IsLarge(const CommittedMessage& cm, size_t threshold) {
  return cm.audience && cm.audience->size() > threshold && cm.stored.message.visible_to().empty();
}

}  // namespace

void PushServer::AudienceOf(const CommittedMessage& cm, std::vector<std::string>& users) {
  users.clear();
  if (cm.audience) {
    users = *cm.audience;
  } else if (auto pair = ParseSingleConversationId(cm.stored.message.conversation_id())) {
    users.push_back(pair->first);
    if (pair->second != pair->first) users.push_back(pair->second);
  }
}

void PushServer::Prefetch(const std::map<std::string, std::vector<std::string>>& users_by_tenant) {
  // A batch can hold thousands of audiences: lookups of at most this many
  // users each keep every call (and its answer) small, and a failed one
  // costs only its users' live pushes.
  constexpr size_t kUsersPerLookup = 1'000;
  prefetched_.clear();
  for (const auto& [tenant, all_users] : users_by_tenant) {
    for (size_t first = 0; first < all_users.size(); first += kUsersPerLookup) {
      std::span<const std::string> users(all_users.data() + first,
                                         std::min(kUsersPerLookup, all_users.size() - first));
      routes_buf_.clear();
      Status st = routes_.LookupMany(tenant, users, routes_buf_);
      if (!st.ok()) {
        // Their devices are not pushed to; they get the messages by sync.
        // They get no entry either: "no entry" is "not known", which the
        // offline hand-off looks up again, where an empty entry would say
        // "offline" and notify devices that may well be online.
        spdlog::warn("route lookup for {} users of {} failed: {}", users.size(), tenant,
                     st.ToString());
        continue;
      }
      for (const auto& user : users) prefetched_.try_emplace(tenant + '\n' + user);
      for (auto& [index, route] : routes_buf_) {
        prefetched_[tenant + '\n' + users[index]].push_back(std::move(route));
      }
    }
  }
  prefetch_active_ = true;
}

void PushServer::PrefetchBatch(const std::vector<CommittedMessage>& messages) {
  std::map<std::string, std::vector<std::string>> by_tenant;
  std::unordered_set<std::string> seen;
  for (const auto& cm : messages) {
    if (IsLarge(cm, options_.large_group_threshold)) continue;
    AudienceOf(cm, users_);
    for (auto& user : users_) {
      if (seen.insert(cm.stored.tenant + '\n' + user).second) {
        by_tenant[cm.stored.tenant].push_back(std::move(user));
      }
    }
  }
  Prefetch(by_tenant);
}

void PushServer::SessionsFromPrefetched(const std::string& tenant,
                                        const std::vector<std::string>& users,
                                        const std::string& skip_user,
                                        const std::string& skip_device) {
  std::string key;
  for (const auto& user : users) {
    key.assign(tenant).append(1, '\n').append(user);
    auto it = prefetched_.find(key);
    if (it == prefetched_.end()) continue;
    for (const DeviceRoute& r : it->second) AddSession(r, user == skip_user, skip_device);
  }
}

void PushServer::AddSession(const DeviceRoute& r, bool is_skip_user,
                            const std::string& skip_device) {
  if (is_skip_user && r.device == skip_device) return;
  if (options_.gateway_id.empty() || r.gateway_id == options_.gateway_id) {
    local_.sessions.push_back(r.session_id);
  } else if (others_ != nullptr) {
    Other(r.gateway_id).sessions.push_back(r.session_id);
  }
}

void PushServer::CollectSessions(const std::string& tenant, const std::vector<std::string>& users,
                                 const std::string& skip_user, const std::string& skip_device) {
  local_.sessions.clear();
  for (auto& other : others_pushes_) other.sessions.clear();
  if (prefetch_active_) return SessionsFromPrefetched(tenant, users, skip_user, skip_device);
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
  for (const auto& [user, r] : routes_buf_) AddSession(r, users[user] == skip_user, skip_device);
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
  AudienceOf(cm, users_);
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
// One notice per large conversation of the batch, up to its last seq, to
// every device of its audience but one that sent every message of the
// batch in that conversation (it knows them from its acks). A device that
// sent only some of them is notified too, or it would miss the others.
void PushServer::AdvanceLarge(const std::vector<CommittedMessage>& messages) {
  struct Latest {
    const CommittedMessage* cm;
    bool one_sending_device = true;
  };
  std::map<std::pair<std::string, std::string>, Latest> last;
  for (const auto& cm : messages) {
    if (!IsLarge(cm, options_.large_group_threshold)) continue;
    const Message& m = cm.stored.message;
    auto [it, fresh] = last.try_emplace({cm.stored.tenant, m.conversation_id()}, Latest{&cm});
    if (fresh) continue;
    const Message& before = it->second.cm->stored.message;
    if (before.sender() != m.sender() || before.sender_device() != m.sender_device()) {
      it->second.one_sending_device = false;
    }
    it->second.cm = &cm;
  }
  static const std::string kNobody;
  for (const auto& [key, latest] : last) {
    const CommittedMessage* cm = latest.cm;
    const Message& m = cm->stored.message;
    CollectSessions(cm->stored.tenant, *cm->audience,
                    latest.one_sending_device ? m.sender() : kNobody,
                    latest.one_sending_device ? m.sender_device() : kNobody);
    if (!AnySessions()) continue;
    ::flare::client::v1::ServerFrame frame;
    frame.mutable_advanced()->set_conversation_id(m.conversation_id());
    frame.mutable_advanced()->set_max_seq(m.seq());
    NotifyCollected(std::move(frame));
  }
}

OfflineBatch PushServer::OfflineMessages(const std::vector<CommittedMessage>& messages) {
  OfflineBatch batch;
  for (const auto& cm : messages) {
    const Message& m = cm.stored.message;
    // Events (recall, edit, reactions, delete-for-me) are not notified.
    if (m.type() == ::flare::client::v1::MESSAGE_TYPE_EVENT || !m.visible_to().empty()) continue;
    OfflineMessage& o = batch.messages.emplace_back(ToOfflineMessage(cm.stored.tenant, m));
    if (cm.audience) {
      o.audience = cm.audience;
    } else {
      AudienceOf(cm, users_);
      o.audience = std::make_shared<const std::vector<std::string>>(users_);
    }
  }
  return batch;
}

void PushServer::OnStored(std::vector<CommittedMessage>& messages) {
  lookup_valid_ = false;  // routes are reused within one batch only
  ForgetOtherGateways();
  // The routes of every recipient of the batch in one LookupMany per
  // tenant: one round trip per batch, not per message, on a remote table.
  PrefetchBatch(messages);
  OfflineBatch offline;
  if (offline_ != nullptr) offline = OfflineMessages(messages);
  bool any_large = false;
  for (auto& cm : messages) {
    if (IsLarge(cm, options_.large_group_threshold)) {
      any_large = true;
      continue;
    }
    PushOne(cm);
  }
  FlushQueued();
  prefetch_active_ = false;  // a large group's whole audience is looked up on its own
  if (offline_ != nullptr && !offline.messages.empty()) {
    // The hand-off reuses this batch's routes instead of a second lookup
    // (Prefetch starts from an empty map next time).
    offline.routes = std::move(prefetched_);
    prefetched_.clear();
    offline_->OnCommitted(std::move(offline));
  }
  if (any_large) AdvanceLarge(messages);
}

// The reader's other devices, and in a 1:1 conversation the peer (a read receipt).
void PushServer::ReadAudience(const ReadMove& move, std::vector<std::string>& users) {
  users.assign(1, move.user_id);
  if (auto pair = ParseSingleConversationId(move.conversation_id)) {
    const std::string& peer = pair->first == move.user_id ? pair->second : pair->first;
    if (peer != move.user_id) users.push_back(peer);
  }
}

void PushServer::OnReadMoved(const std::vector<ReadMove>& moves) {
  lookup_valid_ = false;
  ForgetOtherGateways();
  std::map<std::string, std::vector<std::string>> by_tenant;
  std::unordered_set<std::string> seen;
  for (const auto& move : moves) {
    ReadAudience(move, users_);
    for (auto& user : users_) {
      if (seen.insert(move.tenant + '\n' + user).second) {
        by_tenant[move.tenant].push_back(std::move(user));
      }
    }
  }
  Prefetch(by_tenant);
  for (const auto& move : moves) {
    ReadAudience(move, users_);
    CollectSessions(move.tenant, users_, move.user_id, move.device);
    if (!AnySessions()) continue;
    ::flare::client::v1::ServerFrame frame;
    auto* notice = frame.mutable_read_notice();
    notice->set_conversation_id(move.conversation_id);
    notice->set_user_id(move.user_id);
    notice->set_seq(move.seq);
    NotifyCollected(std::move(frame));
  }
  prefetch_active_ = false;
  if (offline_ != nullptr) offline_->OnReadMoved(moves);
}

}  // namespace flare
