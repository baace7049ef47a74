// signaling-online presence: who is online (from the route table), who
// wants to know, and the login-conflict policy. Subscriptions live in the
// process whose sessions made them; notices travel between processes on
// the PresenceBus, and each process hands them to its own subscribers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"
#include "ports/presence_bus.h"
#include "ports/route_table.h"

namespace flare {

// The policy per platform: "exclusive", or a list such as
// "ios=platform_exclusive,android=platform_exclusive,*=coexist" ("*" is
// every platform not listed; coexist when absent).
class LoginConflictPolicy {
 public:
  static Result<LoginConflictPolicy> Parse(const std::string& spec);
  LoginConflict For(const std::string& platform) const;

 private:
  std::map<std::string, LoginConflict> per_platform_;
  LoginConflict fallback_ = LoginConflict::kCoexist;
};

// Whose presence a user may subscribe to or query (presence.visibility).
enum class PresenceVisibility {
  kSharedConversation,  // users who share a 1:1, group or channel with the caller
  kTenant,              // anyone in the caller's tenant
};

// Ok if `viewer` may see the presence of every one of `users` under
// kSharedConversation; else PermissionDenied naming the first who may not.
// Reads the store: call it on a read thread.
Status CheckSharesConversation(ConversationStore& store, const std::string& tenant,
                               const std::string& viewer, const std::vector<std::string>& users);

class PresenceHub {
 public:
  // Gets the notices of every gateway on `bus` (when given) for this
  // process's subscribers; without a bus, notices stay in this process.
  explicit PresenceHub(RouteTable& routes, PresenceBus* bus = nullptr);
  ~PresenceHub();
  PresenceHub(const PresenceHub&) = delete;
  PresenceHub& operator=(const PresenceHub&) = delete;

  // Receives each notice with this process's subscribers of its user (never
  // empty); runs on the bus's thread. Set to null before the sink goes away.
  using NoticeSink = std::function<void(const std::vector<uint64_t>& sessions,
                                        const ::flare::client::v1::PresenceStatus& status)>;
  void SetNoticeSink(NoticeSink sink);
  // Told of every change Announce publishes (a user's first device online,
  // last offline), on the announcing thread; must not block. Set before
  // the first login (the hook engine's post_online/post_offline points).
  using ChangeListener =
      std::function<void(const std::string& tenant, const ::flare::client::v1::PresenceStatus&)>;
  void SetChangeListener(ChangeListener listener) { change_listener_ = std::move(listener); }
  // Tells the subscribers of `status.user_id` on every gateway.
  void Announce(const std::string& tenant, const ::flare::client::v1::PresenceStatus& status);

  // Registers the route of a new login and returns the routes it displaces
  // under `policy` (the gateway each names kicks its session).
  std::vector<DeviceRoute> Login(const std::string& tenant, const std::string& user,
                                 const DeviceRoute& route, LoginConflict policy);
  // The same, also listing the user's routes after the login into `after`
  // (left empty if they could not be listed; one round trip on a remote table).
  std::vector<DeviceRoute> Login(const std::string& tenant, const std::string& user,
                                 const DeviceRoute& route, LoginConflict policy,
                                 std::optional<std::vector<DeviceRoute>>& after);

  void Subscribe(const std::string& tenant, uint64_t session,
                 const std::vector<std::string>& users);
  void Unsubscribe(const std::string& tenant, uint64_t session,
                   const std::vector<std::string>& users);
  // Sessions subscribed to `user`.
  std::vector<uint64_t> Subscribers(const std::string& tenant, const std::string& user);

  ::flare::client::v1::PresenceStatus Query(const std::string& tenant, const std::string& user);

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::set<uint64_t>> subscribers;  // tenant '\n' user
  };
  Shard& ShardFor(const std::string& key);
  void OnNotice(const std::string& tenant, const std::string& user, const std::string& payload);

  RouteTable& routes_;
  PresenceBus* bus_;
  uint64_t listener_id_ = 0;
  std::mutex sink_mu_;  // held while the sink runs
  NoticeSink sink_;
  ChangeListener change_listener_;
  std::array<Shard, kShards> shards_;
};

}  // namespace flare
