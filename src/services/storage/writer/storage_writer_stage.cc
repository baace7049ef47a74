// How each kind of command becomes rows of a group commit.
#include "common/ids.h"
#include "services/storage/writer/storage_writer.h"
#include "services/storage/writer/storage_writer_internal.h"

namespace flare {

namespace {

bool IsGroupType(int type) {
  return type == pb::CONVERSATION_TYPE_GROUP || type == pb::CONVERSATION_TYPE_CHANNEL;
}

}  // namespace

// One read per conversation for every message-operation target in it; a
// failed read leaves FindTarget to read (and report) on its own.
void StorageWriter::FetchTargets(const std::vector<Command>& commands, Staged& staged) {
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> wanted;
  for (const auto& c : commands) {
    if (const auto* op = std::get_if<MessageOpCommand>(&c.body)) {
      wanted[{c.tenant, op->request.conversation_id()}].push_back(op->request.target_seq());
    }
  }
  for (const auto& [conv, seqs] : wanted) {
    auto found = messages_.GetMany(conv.first, conv.second, seqs);
    if (!found.ok()) continue;
    std::string key = ConversationKey(conv.first, conv.second);
    for (auto& m : *found) {
      int64_t seq = m.seq();
      staged.targets.emplace(std::make_pair(key, seq), std::move(m));
    }
  }
}

void StorageWriter::Stage(Command& command, Staged& staged) {
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SendCommand>) StageSend(command, body, staged);
        if constexpr (std::is_same_v<T, GroupCommand>) StageGroup(command, body, staged);
        if constexpr (std::is_same_v<T, MessageOpCommand>) StageMessageOp(command, body, staged);
        if constexpr (std::is_same_v<T, CursorCommand>) StageCursor(command, body, staged);
      },
      command.body);
}

Result<int64_t> StorageWriter::MaxSeq(const std::string& tenant, const std::string& conv) {
  std::string key = ConversationKey(tenant, conv);
  if (const int64_t* cached = max_seq_.Find(key)) return *cached;
  auto stored = messages_.MaxSeq(tenant, conv);
  if (!stored.ok()) return stored.status();
  max_seq_.Put(key, *stored);
  return *stored;
}

void StorageWriter::PrefetchMaxSeqs(const std::vector<Command>& commands) {
  std::vector<ConversationRef> missing;
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  for (const auto& c : commands) {
    const std::string* conv = nullptr;
    if (const auto* send = std::get_if<SendCommand>(&c.body)) {
      conv = &send->message.conversation_id();
    } else if (const auto* op = std::get_if<MessageOpCommand>(&c.body)) {
      conv = &op->request.conversation_id();
    } else if (const auto* group = std::get_if<GroupCommand>(&c.body);
               group && !group->request.has_create() && !group->request.has_info()) {
      conv = &group->request.conversation_id();
    }
    if (conv == nullptr || conv->empty()) continue;
    std::string key = ConversationKey(c.tenant, *conv);
    if (max_seq_.Find(key) != nullptr || !seen.insert(key).second) continue;
    missing.push_back({c.tenant, *conv});
    keys.push_back(std::move(key));
  }
  if (missing.empty()) return;
  auto found = messages_.MaxSeqs(missing);
  if (!found.ok()) return;  // each conversation is read again when it is staged
  for (size_t i = 0; i < keys.size(); ++i) max_seq_.Put(keys[i], (*found)[i]);
}

Result<int64_t> StorageWriter::NextSeq(const std::string& tenant, const std::string& conv,
                                       Staged& staged) {
  auto max = MaxSeq(tenant, conv);
  if (!max.ok()) return max.status();
  std::string key = ConversationKey(tenant, conv);
  int64_t seq = *max + 1;
  max_seq_.Put(key, seq);
  staged.touched.push_back(std::move(key));
  return seq;
}

Result<GroupState*> StorageWriter::LoadGroup(const std::string& tenant, const std::string& conv) {
  std::string key = ConversationKey(tenant, conv);
  auto not_member = [&] {
    return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_NOT_MEMBER,
                      "you are not a member of conversation " + conv);
  };
  if (auto* cached = groups_.Find(key)) {
    if (!*cached) return not_member();  // known not to exist
    return cached->get();
  }
  auto snapshot = conversations_.LoadConversation(tenant, conv);
  if (!snapshot.ok()) return snapshot.status();
  if (!snapshot->has_value()) {
    groups_.Put(key, nullptr);
    return not_member();
  }
  auto state = GroupState::FromSnapshot(**snapshot);
  if (!state.ok()) return state.status();
  return groups_.Put(key, std::make_unique<GroupState>(std::move(state).value())).get();
}

Result<int> StorageWriter::AppendMessage(const std::string& tenant, Message&& m, Staged& staged,
                                         Audience audience) {
  auto seq = NextSeq(tenant, m.conversation_id(), staged);
  if (!seq.ok()) return seq.status();
  m.set_seq(*seq);
  m.set_server_time_ms(clock_.NowMs());
  m.set_server_msg_id(MakeUlid(m.server_time_ms(), random_));
  if (m.client_msg_id().empty()) m.set_client_msg_id("server:" + m.server_msg_id());
  int index = static_cast<int>(staged.batch.messages.size());
  staged.by_client_id.emplace(std::make_tuple(tenant, m.sender(), m.client_msg_id()), index);
  staged.batch.messages.push_back({tenant, std::move(m)});
  staged.audiences.push_back(std::move(audience));
  return index;
}

void StorageWriter::StageSend(Command& command, SendCommand& send, Staged& staged) {
  Message& m = send.message;
  if (AnswerRepeatedSend(command, m, staged)) return;
  Audience audience;
  std::string key = ConversationKey(command.tenant, m.conversation_id());
  if (IsGroupType(m.conversation_type())) {
    auto group = LoadGroup(command.tenant, m.conversation_id());
    Status can = group.ok() ? CheckCanPost(**group, m.sender(), clock_.NowMs()) : group.status();
    if (!can.ok()) return staged.Reply(command, Failed(CommandKind::kSend, std::move(can)));
    m.set_conversation_type(static_cast<pb::ConversationType>((*group)->info.type()));
    audience = (*group)->Audience();
  } else if (!known_singles_.Find(key)) {
    known_singles_.Put(key, true);
    staged.touched.push_back(key);
    for (const auto& user : send.members) {
      staged.batch.memberships.push_back(
          {command.tenant, m.conversation_id(), m.conversation_type(), user, clock_.NowMs()});
    }
  }
  auto index = AppendMessage(command.tenant, std::move(m), staged, std::move(audience));
  if (!index.ok()) return staged.Reply(command, Failed(CommandKind::kSend, index.status()));
  staged.taken_sends.emplace_back(&send, *index);
  staged.replies.push_back({&command, *index, {}});
}

void StorageWriter::RecordMembers(const std::string& tenant, const std::string& conv,
                                  GroupState& state, const GroupChange& change, int64_t event_seq,
                                  Staged& staged) {
  bool history = state.info.settings().history_visible_to_new_members();
  for (const auto& user : change.joined) {
    state.members[user].joined_seq = history ? 0 : event_seq;
  }
  auto record = [&](const std::string& user) {
    const GroupMember& m = state.members[user];
    staged.batch.memberships.push_back({tenant, conv, state.info.type(), user, clock_.NowMs(),
                                        m.role, m.muted_until_ms, m.joined_seq});
  };
  for (const auto& user : change.joined) record(user);
  for (const auto& user : change.changed) record(user);
  for (const auto& user : change.removed) {
    MembershipRecord removal;
    removal.tenant = tenant;
    removal.conversation_id = conv;
    removal.user_id = user;
    removal.removed = true;
    staged.batch.memberships.push_back(std::move(removal));
  }
  if (change.record_changed) {
    pb::GroupInfo info = state.ToInfo(false);
    staged.batch.conversations.push_back({tenant, conv, info.SerializeAsString()});
  }
}

void StorageWriter::StageGroup(Command& command, GroupCommand& group, Staged& staged) {
  const pb::GroupRequest& request = group.request;
  if (AnswerRepeatedGroupOp(command, request, staged)) return;
  std::string conv = request.conversation_id();
  GroupState* state = nullptr;
  std::unique_ptr<GroupState> created;
  if (request.has_create()) {
    // The orchestrator names a new group, so that its create is already
    // keyed by the conversation on the ingest stream; unnamed: named here.
    if (conv.empty()) conv = NewGroupId(request.create().type(), clock_.NowMs(), random_);
    // LoadGroup answers kPermissionDenied (not a member) for a group that
    // does not exist, which is what a new one must be.
    auto existing = LoadGroup(command.tenant, conv);
    if (existing.ok()) {
      return staged.Reply(
          command, Failed(CommandKind::kGroup, {Code::kAlreadyExists, conv + " already exists"}));
    }
    if (existing.status().code() != Code::kPermissionDenied) {
      return staged.Reply(command, Failed(CommandKind::kGroup, existing.status()));
    }
    created = std::make_unique<GroupState>();
    state = created.get();
    state->info.set_conversation_id(conv);
  } else {
    auto loaded = LoadGroup(command.tenant, conv);
    if (!loaded.ok()) return staged.Reply(command, Failed(CommandKind::kGroup, loaded.status()));
    state = *loaded;
  }
  std::string key = ConversationKey(command.tenant, conv);
  staged.touched.push_back(key);  // the cached state changes below
  auto change = ApplyGroupOp(*state, command.actor, request, clock_.NowMs(), options_.group_limits);
  if (!change.ok()) return staged.Reply(command, Failed(CommandKind::kGroup, change.status()));
  if (created) groups_.Put(key, std::move(created));

  CommandOutcome outcome;
  outcome.kind = CommandKind::kGroup;
  if (!change->event) {  // a read (info)
    outcome.group = state->ToInfo(true);
    return staged.Reply(command, std::move(outcome));
  }
  Message event;
  event.set_conversation_id(conv);
  event.set_conversation_type(static_cast<pb::ConversationType>(state->info.type()));
  event.set_type(pb::MESSAGE_TYPE_EVENT);
  event.set_sender(command.actor);
  event.set_sender_device(command.actor_device);
  event.set_client_msg_id(request.client_msg_id());  // empty: the server makes one
  *event.mutable_event()->mutable_membership() = *change->event;
  // Removed members are told too: the audience is everyone before the change.
  auto audience = state->Audience();
  if (!change->removed.empty()) {
    auto everyone = std::make_shared<std::vector<std::string>>(*audience);
    everyone->insert(everyone->end(), change->removed.begin(), change->removed.end());
    audience = std::move(everyone);
  }
  auto index = AppendMessage(command.tenant, std::move(event), staged, audience);
  if (!index.ok()) {
    groups_.Erase(key);  // the cached state already changed: reload it next time
    return staged.Reply(command, Failed(CommandKind::kGroup, index.status()));
  }
  RecordMembers(command.tenant, conv, *state, *change, staged.batch.messages[*index].message.seq(),
                staged);
  outcome.group = state->ToInfo(request.has_create());
  staged.replies.push_back({&command, *index, std::move(outcome)});
}

Result<Message*> StorageWriter::FindTarget(const std::string& tenant, const std::string& conv,
                                           int64_t seq, Staged& staged) {
  std::string key = ConversationKey(tenant, conv);
  if (auto it = staged.updates.find({key, seq}); it != staged.updates.end()) {
    return &staged.batch.updates[it->second].message;
  }
  for (auto& sm : staged.batch.messages) {  // a target stored in this very batch
    if (sm.tenant == tenant && sm.message.conversation_id() == conv && sm.message.seq() == seq) {
      return &sm.message;
    }
  }
  std::optional<Message> target;
  if (auto pre = staged.targets.find({key, seq}); pre != staged.targets.end()) {
    target = std::move(pre->second);
    staged.targets.erase(pre);
  } else {
    auto stored = messages_.Get(tenant, conv, seq);
    if (!stored.ok()) return stored.status();
    target = std::move(*stored);
  }
  if (!target) return NotFound("no message " + std::to_string(seq) + " in " + conv);
  staged.updates[{key, seq}] = static_cast<int>(staged.batch.updates.size());
  staged.batch.updates.push_back({tenant, std::move(*target)});
  return &staged.batch.updates.back().message;
}

void StorageWriter::StageMessageOp(Command& command, MessageOpCommand& op, Staged& staged) {
  const pb::MessageOpRequest& request = op.request;
  const std::string& conv = request.conversation_id();
  auto fail = [&](Status st) {
    staged.Reply(command, Failed(CommandKind::kMessageOp, std::move(st)));
  };
  // A retry gets its first outcome even if the actor has lost access since.
  if (AnswerRepeatedMessageOp(command, request, staged)) return;
  bool moderator = false;
  int type = pb::CONVERSATION_TYPE_SINGLE;
  Audience audience;
  if (!ParseSingleConversationId(conv)) {
    auto group = LoadGroup(command.tenant, conv);
    if (!group.ok()) return fail(group.status());
    auto member = (*group)->members.find(command.actor);
    if (member == (*group)->members.end()) {
      return fail(GroupError(Code::kPermissionDenied, pb::ERROR_CODE_NOT_MEMBER,
                             "you are not a member of conversation " + conv));
    }
    if (request.target_seq() < member->second.joined_seq) {  // history hidden from this member
      return fail(NotFound("no message " + std::to_string(request.target_seq()) + " in " + conv));
    }
    moderator = (*group)->IsModerator(command.actor);
    type = (*group)->info.type();
    audience = (*group)->Audience();
  }
  // Pointers into the batch move as it grows: copy what is needed first.
  auto found = FindTarget(command.tenant, conv, request.target_seq(), staged);
  if (!found.ok()) return fail(found.status());
  Message target = **found;
  Status allowed =
      CheckMessageOp(request, target, command.actor, moderator, clock_.NowMs(), options_.op_rules);
  if (!allowed.ok()) return fail(std::move(allowed));

  Message event;
  event.set_client_msg_id(request.client_msg_id());
  event.set_conversation_id(conv);
  event.set_conversation_type(static_cast<pb::ConversationType>(type));
  event.set_type(pb::MESSAGE_TYPE_EVENT);
  event.set_sender(command.actor);
  event.set_sender_device(command.actor_device);
  *event.mutable_event() = MakeEvent(request, target, options_.op_rules);
  if (request.has_delete_for_me()) event.set_visible_to(command.actor);
  auto index = AppendMessage(command.tenant, std::move(event), staged, std::move(audience));
  if (!index.ok()) return fail(index.status());
  auto again = FindTarget(command.tenant, conv, request.target_seq(), staged);
  if (again.ok()) ApplyEventToTarget(staged.batch.messages[*index].message, **again);
  CommandOutcome outcome;
  outcome.kind = CommandKind::kMessageOp;
  staged.replies.push_back({&command, *index, std::move(outcome)});
}

void StorageWriter::StageCursor(Command& command, CursorCommand& cursor, Staged& staged) {
  CursorUpdate& c = cursor.cursor;
  CommandOutcome outcome;
  outcome.kind = CommandKind::kCursor;
  if (c.read_seq > 0 && !ParseSingleConversationId(c.conversation_id)) {
    auto group = LoadGroup(c.tenant, c.conversation_id);
    Status member = !group.ok() ? group.status()
                    : (*group)->members.count(c.user_id)
                        ? Status::Ok()
                        : GroupError(Code::kPermissionDenied, pb::ERROR_CODE_NOT_MEMBER,
                                     "you are not a member of conversation " + c.conversation_id);
    if (!member.ok()) return staged.Reply(command, Failed(CommandKind::kCursor, member));
  }
  if (c.read_seq > 0 || c.delivered_seq > 0) {
    // Neither cursor may pass what is stored (a client cannot mark
    // messages that do not exist yet as delivered or read).
    auto max = MaxSeq(c.tenant, c.conversation_id);
    if (!max.ok()) return staged.Reply(command, Failed(CommandKind::kCursor, max.status()));
    c.read_seq = std::min(c.read_seq, *max);
    c.delivered_seq = std::min(c.delivered_seq, *max);
  }
  if (c.read_seq > 0) {
    staged.reads.push_back(
        {c.tenant, c.conversation_id, c.user_id, command.actor_device, c.read_seq});
  }
  staged.batch.cursors.push_back(c);
  staged.Reply(command, std::move(outcome));
}

}  // namespace flare
