// Groups and channels: their state and the rules for changing it. Pure
// domain logic: the storage writer applies these in conversation order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"

namespace flare {

namespace pb = ::flare::client::v1;

struct GroupLimits {
  size_t max_members = 10'000;
};

struct GroupMember {
  int role = pb::MEMBER_ROLE_MEMBER;
  int64_t muted_until_ms = 0;
  int64_t joined_seq = 0;
};

struct GroupState {
  pb::GroupInfo info;  // record fields only; members live in `members`
  std::map<std::string, GroupMember> members;

  bool IsModerator(const std::string& user) const;  // owner or admin
  // Member ids, shared by every stored message until membership changes.
  std::shared_ptr<const std::vector<std::string>> Audience();
  void MembersChanged() { audience_.reset(); }
  pb::GroupInfo ToInfo(bool with_members) const;
  static Result<GroupState> FromSnapshot(const ConversationSnapshot& snapshot);

 private:
  std::shared_ptr<const std::vector<std::string>> audience_;
};

// A new group's or channel's id: "group:" or "channel:" and a ULID.
std::string NewGroupId(pb::ConversationType type, int64_t now_ms, Random& random);
// The id of a group created with an idempotency key: the same for every
// retry of the create (so each reaches the same storage writer and finds
// the first one's outcome), different for other tenants, actors or keys.
std::string GroupIdForKey(pb::ConversationType type, std::string_view tenant,
                          std::string_view actor, std::string_view key);

// What one group operation did, before the writer gives its event a seq.
struct GroupChange {
  std::optional<pb::MembershipEvent> event;  // the durable event, if any
  std::vector<std::string> joined;           // new members (joined_seq = the event's seq)
  std::vector<std::string> changed;          // members whose row changed otherwise
  std::vector<std::string> removed;          // no longer members (still told of the event)
  bool record_changed = false;
};

// Checks and applies `request` by `actor` to `state` (for create, `state`
// is empty and gets the new group). On error `state` is unchanged.
Result<GroupChange> ApplyGroupOp(GroupState& state, const std::string& actor,
                                 const pb::GroupRequest& request, int64_t now_ms,
                                 const GroupLimits& limits);

// Whether `user` may post into the group now.
Status CheckCanPost(const GroupState& state, const std::string& user, int64_t now_ms);

// A Status carrying a protocol error code.
Status GroupError(Code code, pb::ErrorCode detail, std::string message);

}  // namespace flare
