#include "services/signaling/online/presence.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <unordered_set>

namespace flare {

namespace {
Result<LoginConflict> ParseOne(const std::string& name) {
  if (name == "coexist") return LoginConflict::kCoexist;
  if (name == "platform_exclusive") return LoginConflict::kPlatformExclusive;
  if (name == "exclusive") return LoginConflict::kExclusive;
  return InvalidArgument("presence.login_conflict: unknown policy '" + name +
                         "' (coexist, platform_exclusive or exclusive)");
}
}  // namespace

Result<LoginConflictPolicy> LoginConflictPolicy::Parse(const std::string& spec) {
  LoginConflictPolicy policy;
  if (spec.find('=') == std::string::npos) {
    auto one = ParseOne(spec);
    if (!one.ok()) return one.status();
    policy.fallback_ = *one;
    return policy;
  }
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string entry = spec.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("presence.login_conflict: '" + entry + "' is not PLATFORM=POLICY");
    }
    auto one = ParseOne(entry.substr(eq + 1));
    if (!one.ok()) return one.status();
    std::string platform = entry.substr(0, eq);
    if (platform == "*") {
      policy.fallback_ = *one;
    } else {
      policy.per_platform_[platform] = *one;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return policy;
}

LoginConflict LoginConflictPolicy::For(const std::string& platform) const {
  auto it = per_platform_.find(platform);
  return it == per_platform_.end() ? fallback_ : it->second;
}

PresenceHub::PresenceHub(RouteTable& routes, PresenceBus* bus) : routes_(routes), bus_(bus) {
  if (bus_ != nullptr) {
    listener_id_ =
        bus_->AddListener([this](const std::string& tenant, const std::string& user,
                                 const std::string& payload) { OnNotice(tenant, user, payload); });
  }
}

PresenceHub::~PresenceHub() {
  if (bus_ != nullptr) bus_->RemoveListener(listener_id_);
}

void PresenceHub::SetNoticeSink(NoticeSink sink) {
  std::lock_guard lock(sink_mu_);
  sink_ = std::move(sink);
}

void PresenceHub::Announce(const std::string& tenant,
                           const ::flare::client::v1::PresenceStatus& status) {
  if (change_listener_) change_listener_(tenant, status);
  std::string payload = status.SerializeAsString();
  if (bus_ == nullptr) return OnNotice(tenant, status.user_id(), payload);
  if (Status st = bus_->Publish(tenant, status.user_id(), payload); !st.ok()) {
    spdlog::warn("presence of {}/{} not announced: {}", tenant, status.user_id(), st.ToString());
  }
}

void PresenceHub::OnNotice(const std::string& tenant, const std::string& user,
                           const std::string& payload) {
  auto subscribers = Subscribers(tenant, user);
  if (subscribers.empty()) return;
  ::flare::client::v1::PresenceStatus status;
  if (!status.ParseFromString(payload) || status.user_id() != user) {
    spdlog::warn("malformed presence notice about {}/{} dropped", tenant, user);
    return;
  }
  std::lock_guard lock(sink_mu_);
  if (sink_) sink_(subscribers, status);
}

PresenceHub::Shard& PresenceHub::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::vector<DeviceRoute> PresenceHub::Login(const std::string& tenant, const std::string& user,
                                            const DeviceRoute& route, LoginConflict policy) {
  std::vector<DeviceRoute> displaced;
  Status st = routes_.RegisterDisplacing(tenant, user, route, policy, displaced);
  if (!st.ok())
    spdlog::warn("route registration of session {} failed: {}", route.session_id, st.message());
  return displaced;
}

std::vector<DeviceRoute> PresenceHub::Login(const std::string& tenant, const std::string& user,
                                            const DeviceRoute& route, LoginConflict policy,
                                            std::optional<std::vector<DeviceRoute>>& after) {
  std::vector<DeviceRoute> displaced;
  Status st = routes_.RegisterDisplacingAndList(tenant, user, route, policy, displaced, after);
  if (!st.ok())
    spdlog::warn("route registration of session {} failed: {}", route.session_id, st.message());
  return displaced;
}

void PresenceHub::Subscribe(const std::string& tenant, uint64_t session,
                            const std::vector<std::string>& users) {
  for (const auto& user : users) {
    std::string key = tenant + '\n' + user;
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    shard.subscribers[key].insert(session);
  }
}

void PresenceHub::Unsubscribe(const std::string& tenant, uint64_t session,
                              const std::vector<std::string>& users) {
  for (const auto& user : users) {
    std::string key = tenant + '\n' + user;
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.subscribers.find(key);
    if (it == shard.subscribers.end()) continue;
    it->second.erase(session);
    if (it->second.empty()) shard.subscribers.erase(it);
  }
}

std::vector<uint64_t> PresenceHub::Subscribers(const std::string& tenant, const std::string& user) {
  std::string key = tenant + '\n' + user;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.subscribers.find(key);
  if (it == shard.subscribers.end()) return {};
  return {it->second.begin(), it->second.end()};
}

::flare::client::v1::PresenceStatus PresenceHub::Query(const std::string& tenant,
                                                       const std::string& user) {
  std::vector<DeviceRoute> routes;
  if (Status st = routes_.Lookup(tenant, user, routes); !st.ok()) {
    spdlog::warn("presence of {}/{} unknown, reported offline: {}", tenant, user, st.ToString());
    routes.clear();
  }
  ::flare::client::v1::PresenceStatus status;
  status.set_user_id(user);
  status.set_online(!routes.empty());
  std::set<std::string> platforms;
  for (const auto& r : routes) platforms.insert(r.platform);
  for (const auto& p : platforms) status.add_platforms(p);
  return status;
}

Status CheckSharesConversation(ConversationStore& store, const std::string& tenant,
                               const std::string& viewer, const std::vector<std::string>& users) {
  std::unordered_set<std::string> mine;
  bool listed = false;
  for (const auto& user : users) {
    if (user == viewer) continue;
    if (!listed) {  // read only when someone other than the viewer is asked for
      auto own = store.ListForUser(tenant, viewer);
      if (!own.ok()) return own.status();
      for (auto& c : *own) mine.insert(std::move(c.conversation_id));
      listed = true;
    }
    auto theirs = store.ListForUser(tenant, user);
    if (!theirs.ok()) return theirs.status();
    bool shared = std::any_of(theirs->begin(), theirs->end(), [&](const MemberConversation& c) {
      return mine.count(c.conversation_id) > 0;
    });
    if (!shared) {
      return PermissionDenied("you share no conversation with '" + user +
                              "', so their presence is not visible to you")
          .WithDetail(::flare::client::v1::ERROR_CODE_PERMISSION_DENIED);
    }
  }
  return Status::Ok();
}

}  // namespace flare
