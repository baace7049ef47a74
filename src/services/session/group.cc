#include "services/session/group.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string_view>

#include "common/ids.h"

namespace flare {

std::string NewGroupId(pb::ConversationType type, int64_t now_ms, Random& random) {
  return (type == pb::CONVERSATION_TYPE_CHANNEL ? "channel:" : "group:") + MakeUlid(now_ms, random);
}

namespace {

// FNV-1a over the parts, each followed by a 0 byte (so parts cannot run
// into each other), from the given offset basis.
uint64_t Fnv1a(uint64_t basis, std::initializer_list<std::string_view> parts) {
  uint64_t h = basis;
  for (std::string_view part : parts) {
    for (unsigned char c : part) h = (h ^ c) * 0x100000001b3ULL;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

std::string GroupIdForKey(pb::ConversationType type, std::string_view tenant,
                          std::string_view actor, std::string_view key) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t hi = Fnv1a(0xcbf29ce484222325ULL, {tenant, actor, key});
  uint64_t lo = Fnv1a(0x84222325cbf29ce4ULL, {key, actor, tenant});
  std::string id(26, '0');
  for (int i = 0; i < 13; ++i) {  // 13 characters from each hash (shifts up to 60)
    id[i] = kAlphabet[(hi >> (5 * i)) & 31];
    id[13 + i] = kAlphabet[(lo >> (5 * i)) & 31];
  }
  return (type == pb::CONVERSATION_TYPE_CHANNEL ? "channel:" : "group:") + id;
}

Status GroupError(Code code, pb::ErrorCode detail, std::string message) {
  return Status(code, std::move(message)).WithDetail(detail);
}

namespace {

Status NotMember() {
  return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_NOT_MEMBER,
                    "you are not a member of this conversation");
}

Status Denied(const std::string& what) {
  return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_PERMISSION_DENIED,
                    "your role may not " + what);
}

Status Conflict(const std::string& what) {
  return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_CONFLICT, what);
}

int RoleOf(const GroupState& s, const std::string& user) {
  auto it = s.members.find(user);
  return it == s.members.end() ? -1 : it->second.role;
}

Result<std::vector<std::string>> ValidUsers(
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::set<std::string> unique;
  for (const auto& id : ids) {
    if (!IsValidId(id)) return InvalidArgument("'" + id + "' is not a valid user id");
    unique.insert(id);
  }
  if (unique.empty()) return InvalidArgument("no user ids given");
  return std::vector<std::string>(unique.begin(), unique.end());
}

pb::MembershipEvent Event(pb::MembershipEvent::Action action, const std::string& actor) {
  pb::MembershipEvent e;
  e.set_action(action);
  e.set_actor(actor);
  return e;
}

Result<GroupChange> Create(GroupState& state, const std::string& actor,
                           const pb::GroupRequest::Create& create, const GroupLimits& limits) {
  auto type = create.type() == pb::CONVERSATION_TYPE_UNSPECIFIED ? pb::CONVERSATION_TYPE_GROUP
                                                                 : create.type();
  if (type != pb::CONVERSATION_TYPE_GROUP && type != pb::CONVERSATION_TYPE_CHANNEL) {
    return InvalidArgument("a group's type is GROUP or CHANNEL");
  }
  std::set<std::string> members(create.member_ids().begin(), create.member_ids().end());
  members.insert(actor);
  for (const auto& id : members) {
    if (!IsValidId(id)) return InvalidArgument("'" + id + "' is not a valid user id");
  }
  if (members.size() > limits.max_members) {
    return GroupError(Code::kResourceExhausted, pb::ERROR_CODE_MEMBER_LIMIT,
                      "a group holds at most " + std::to_string(limits.max_members) + " members");
  }
  state.info.set_type(type);
  *state.info.mutable_settings() = create.settings();
  state.info.set_owner(actor);
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_CREATED, actor);
  change.event->set_name(create.settings().name());
  for (const auto& id : members) {
    state.members[id].role = id == actor ? pb::MEMBER_ROLE_OWNER : pb::MEMBER_ROLE_MEMBER;
    change.event->add_user_ids(id);
    change.joined.push_back(id);
  }
  change.record_changed = true;
  return change;
}

Result<GroupChange> AddMembers(GroupState& state, const std::string& actor,
                               const pb::GroupRequest::Users& users, const GroupLimits& limits) {
  if (state.info.type() == pb::CONVERSATION_TYPE_CHANNEL && !state.IsModerator(actor)) {
    return Denied("add members to a channel");
  }
  auto ids = ValidUsers(users.user_ids());
  if (!ids.ok()) return ids.status();
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_JOINED, actor);
  for (const auto& id : *ids) {
    if (state.members.count(id) == 0) change.joined.push_back(id);
  }
  if (change.joined.empty()) return Conflict("every user given is already a member");
  if (state.members.size() + change.joined.size() > limits.max_members) {
    return GroupError(Code::kResourceExhausted, pb::ERROR_CODE_MEMBER_LIMIT,
                      "a group holds at most " + std::to_string(limits.max_members) + " members");
  }
  for (const auto& id : change.joined) {
    state.members[id] = GroupMember{};
    change.event->add_user_ids(id);
  }
  return change;
}

Result<GroupChange> RemoveMembers(GroupState& state, const std::string& actor,
                                  const pb::GroupRequest::Users& users) {
  auto ids = ValidUsers(users.user_ids());
  if (!ids.ok()) return ids.status();
  int actor_role = RoleOf(state, actor);
  for (const auto& id : *ids) {
    int role = RoleOf(state, id);
    if (role < 0) return Conflict("'" + id + "' is not a member");
    if (id == actor) return Conflict("use leave to leave a group");
    if (actor_role <= role || actor_role < pb::MEMBER_ROLE_ADMIN) {
      return Denied("remove '" + id + "'");
    }
  }
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_REMOVED, actor);
  for (const auto& id : *ids) {
    state.members.erase(id);
    change.removed.push_back(id);
    change.event->add_user_ids(id);
  }
  return change;
}

Result<GroupChange> SetRole(GroupState& state, const std::string& actor,
                            const pb::GroupRequest::SetRole& req) {
  if (RoleOf(state, actor) != pb::MEMBER_ROLE_OWNER) return Denied("change roles");
  if (RoleOf(state, req.user_id()) < 0) return Conflict("'" + req.user_id() + "' is not a member");
  if (req.user_id() == actor)
    return Conflict("the owner keeps the owner role until it passes it on");
  if (!pb::MemberRole_IsValid(req.role())) return InvalidArgument("unknown role");
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_ROLE_CHANGED, actor);
  change.event->add_user_ids(req.user_id());
  change.event->set_role(req.role());
  state.members[req.user_id()].role = req.role();
  change.changed.push_back(req.user_id());
  if (req.role() == pb::MEMBER_ROLE_OWNER) {  // ownership passes on; the old owner becomes admin
    state.members[actor].role = pb::MEMBER_ROLE_ADMIN;
    state.info.set_owner(req.user_id());
    change.changed.push_back(actor);
    change.record_changed = true;
  }
  return change;
}

Result<GroupChange> Leave(GroupState& state, const std::string& actor) {
  if (RoleOf(state, actor) == pb::MEMBER_ROLE_OWNER) {
    return Conflict("the owner cannot leave; pass ownership on or dismiss the group");
  }
  state.members.erase(actor);
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_LEFT, actor);
  change.event->add_user_ids(actor);
  change.removed.push_back(actor);
  return change;
}

Result<GroupChange> MuteMember(GroupState& state, const std::string& actor,
                               const pb::GroupRequest::MuteMember& req) {
  int role = RoleOf(state, req.user_id());
  if (role < 0) return Conflict("'" + req.user_id() + "' is not a member");
  if (!state.IsModerator(actor) || RoleOf(state, actor) <= role) {
    return Denied("mute '" + req.user_id() + "'");
  }
  state.members[req.user_id()].muted_until_ms = std::max<int64_t>(0, req.muted_until_ms());
  GroupChange change;
  change.event = Event(pb::MembershipEvent::ACTION_MUTED, actor);
  change.event->add_user_ids(req.user_id());
  change.event->set_muted_until_ms(req.muted_until_ms());
  change.changed.push_back(req.user_id());
  return change;
}

Result<GroupChange> Moderate(GroupState& state, const std::string& actor,
                             const pb::GroupRequest& request) {
  GroupChange change;
  change.record_changed = true;
  if (request.has_update()) {
    if (!state.IsModerator(actor)) return Denied("change the group's settings");
    *state.info.mutable_settings() = request.update();
    change.event = Event(pb::MembershipEvent::ACTION_UPDATED, actor);
    change.event->set_name(request.update().name());
    *change.event->mutable_attributes() = request.update().attributes();
  } else if (request.has_mute_all()) {
    if (!state.IsModerator(actor)) return Denied("mute the group");
    state.info.set_muted_all(request.mute_all().muted());
    change.event = Event(pb::MembershipEvent::ACTION_MUTED_ALL, actor);
    change.event->set_muted_all(request.mute_all().muted());
  } else {  // dismiss
    if (RoleOf(state, actor) != pb::MEMBER_ROLE_OWNER) return Denied("dismiss the group");
    state.info.set_dismissed(true);
    change.event = Event(pb::MembershipEvent::ACTION_DISMISSED, actor);
  }
  return change;
}

}  // namespace

bool GroupState::IsModerator(const std::string& user) const {
  return RoleOf(*this, user) >= pb::MEMBER_ROLE_ADMIN;
}

std::shared_ptr<const std::vector<std::string>> GroupState::Audience() {
  if (!audience_) {
    auto ids = std::make_shared<std::vector<std::string>>();
    ids->reserve(members.size());
    for (const auto& [id, m] : members) ids->push_back(id);
    audience_ = std::move(ids);
  }
  return audience_;
}

pb::GroupInfo GroupState::ToInfo(bool with_members) const {
  pb::GroupInfo out = info;
  out.set_member_count(static_cast<int64_t>(members.size()));
  if (with_members) {
    for (const auto& [id, m] : members) {
      auto* mi = out.add_members();
      mi->set_user_id(id);
      mi->set_role(static_cast<pb::MemberRole>(m.role));
      mi->set_muted_until_ms(m.muted_until_ms);
      mi->set_joined_seq(m.joined_seq);
    }
  }
  return out;
}

Result<GroupState> GroupState::FromSnapshot(const ConversationSnapshot& snapshot) {
  GroupState state;
  if (!state.info.ParseFromString(snapshot.info)) return Internal("stored group record is corrupt");
  for (const auto& row : snapshot.members) {
    state.members[row.user_id] = GroupMember{row.role, row.muted_until_ms, row.joined_seq};
  }
  return state;
}

Result<GroupChange> ApplyGroupOp(GroupState& state, const std::string& actor,
                                 const pb::GroupRequest& request, int64_t now_ms,
                                 const GroupLimits& limits) {
  if (request.has_create()) return Create(state, actor, request.create(), limits);
  if (RoleOf(state, actor) < 0) return NotMember();
  if (request.has_info()) return GroupChange{};
  if (state.info.dismissed()) {
    return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_GROUP_DISMISSED,
                      "the group was dismissed");
  }
  GroupState before = state;
  Result<GroupChange> change = Status(InvalidArgument("group request has no operation"));
  switch (request.op_case()) {
    case pb::GroupRequest::kAddMembers:
      change = AddMembers(state, actor, request.add_members(), limits);
      break;
    case pb::GroupRequest::kRemoveMembers:
      change = RemoveMembers(state, actor, request.remove_members());
      break;
    case pb::GroupRequest::kLeave:
      change = Leave(state, actor);
      break;
    case pb::GroupRequest::kSetRole:
      change = SetRole(state, actor, request.set_role());
      break;
    case pb::GroupRequest::kMuteMember:
      change = MuteMember(state, actor, request.mute_member());
      break;
    case pb::GroupRequest::kUpdate:
    case pb::GroupRequest::kMuteAll:
    case pb::GroupRequest::kDismiss:
      change = Moderate(state, actor, request);
      break;
    default:
      break;
  }
  if (!change.ok()) {
    state = std::move(before);
    return change;
  }
  state.MembersChanged();
  return change;
}

Status CheckCanPost(const GroupState& state, const std::string& user, int64_t now_ms) {
  auto it = state.members.find(user);
  if (it == state.members.end()) return NotMember();
  if (state.info.dismissed()) {
    return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_GROUP_DISMISSED,
                      "the group was dismissed");
  }
  bool moderator = it->second.role >= pb::MEMBER_ROLE_ADMIN;
  if (state.info.type() == pb::CONVERSATION_TYPE_CHANNEL && !moderator) {
    return Denied("post in this channel");
  }
  if (state.info.muted_all() && !moderator) {
    return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_MUTED, "the group is muted");
  }
  if (it->second.muted_until_ms > now_ms) {
    return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_MUTED, "you are muted");
  }
  return Status::Ok();
}

}  // namespace flare
