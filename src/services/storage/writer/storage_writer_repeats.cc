// Repeated requests: every command kind is idempotent by its key. A batch
// is first staged as if every key were new, because almost all are and the
// store's unique key refuses a repeat. Only when the store refuses it, or a
// keyed command is refused, are the batch's keys looked up (once for the
// whole batch) and the batch staged again: a retry is answered with its
// first outcome, and a key that already names another request is refused.
#include "services/storage/writer/storage_writer.h"
#include "services/storage/writer/storage_writer_internal.h"

#include <algorithm>
#include <optional>

namespace flare {

namespace {

Status KeyReused(const std::string& key) {
  return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_IDEMPOTENCY_KEY_REUSED,
                    "client_msg_id '" + key + "' was already used for a different request");
}

bool SameOp(const pb::Event& e, const pb::MessageOpRequest& op) {
  if (e.target_seq() != op.target_seq()) return false;
  switch (op.op_case()) {
    case pb::MessageOpRequest::kRecall:
      return e.has_recall();
    case pb::MessageOpRequest::kEdit:
      return e.has_edit();
    case pb::MessageOpRequest::kDeleteForMe:
      return e.has_delete_for_me();
    case pb::MessageOpRequest::kReaction:
      return e.has_reaction();
    default:
      return false;
  }
}

// Whether `earlier`, stored under the same idempotency key, is the outcome
// of the same request: a retry gets it back; anything else is refused.
bool SameSend(const Message& earlier, const Message& m) {
  return earlier.type() != pb::MESSAGE_TYPE_EVENT &&
         earlier.conversation_id() == m.conversation_id();
}
bool SameMessageOp(const Message& earlier, const pb::MessageOpRequest& op) {
  return earlier.type() == pb::MESSAGE_TYPE_EVENT &&
         earlier.conversation_id() == op.conversation_id() && SameOp(earlier.event(), op);
}
bool SameGroupOp(const Message& earlier, const pb::GroupRequest& request) {
  if (earlier.type() != pb::MESSAGE_TYPE_EVENT || !earlier.event().has_membership()) return false;
  using Action = pb::MembershipEvent;
  auto action = earlier.event().membership().action();
  if (request.has_create()) return action == Action::ACTION_CREATED;
  if (earlier.conversation_id() != request.conversation_id()) return false;
  switch (request.op_case()) {
    case pb::GroupRequest::kUpdate:
      return action == Action::ACTION_UPDATED;
    case pb::GroupRequest::kDismiss:
      return action == Action::ACTION_DISMISSED;
    case pb::GroupRequest::kAddMembers:
      return action == Action::ACTION_JOINED;
    case pb::GroupRequest::kRemoveMembers:
      return action == Action::ACTION_REMOVED;
    case pb::GroupRequest::kLeave:
      return action == Action::ACTION_LEFT;
    case pb::GroupRequest::kSetRole:
      return action == Action::ACTION_ROLE_CHANGED;
    case pb::GroupRequest::kMuteMember:
      return action == Action::ACTION_MUTED;
    case pb::GroupRequest::kMuteAll:
      return action == Action::ACTION_MUTED_ALL;
    default:
      return false;
  }
}

}  // namespace

// The idempotency key a command is stored under, or nullopt if it has none.
std::optional<IdempotencyKeyRef> KeyOf(const Command& c) {
  if (const auto* send = std::get_if<SendCommand>(&c.body)) {
    return IdempotencyKeyRef{c.tenant, send->message.sender(), send->message.client_msg_id()};
  }
  if (const auto* op = std::get_if<MessageOpCommand>(&c.body);
      op && !op->request.client_msg_id().empty()) {
    return IdempotencyKeyRef{c.tenant, c.actor, op->request.client_msg_id()};
  }
  if (const auto* group = std::get_if<GroupCommand>(&c.body);
      group && !group->request.client_msg_id().empty()) {
    return IdempotencyKeyRef{c.tenant, c.actor, group->request.client_msg_id()};
  }
  return std::nullopt;
}

void StorageWriter::LookUpEarlier(std::vector<Command>& commands, Staged& staged) {
  std::vector<IdempotencyKeyRef> keys;
  std::vector<const Command*> owners;
  keys.reserve(commands.size());
  for (const auto& c : commands) {
    auto key = KeyOf(c);
    if (!key) continue;
    keys.push_back(std::move(*key));
    owners.push_back(&c);
  }
  auto found = messages_.FindByClientMsgIds(keys);
  if (!found.ok()) {
    staged.lookup_status = found.status();
    return;
  }
  for (size_t i = 0; i < owners.size(); ++i) {
    if ((*found)[i]) staged.earlier.emplace(owners[i], std::move(*(*found)[i]));
  }
}

// A refused command may be the retry of one that was stored before the
// state changed (the sender has left the group since): that one deserves
// its first outcome, which only a look at its key can tell.
bool StorageWriter::RefusedRepeatsPossible(const Staged& staged) {
  std::vector<IdempotencyKeyRef> keys;
  for (const auto& reply : staged.replies) {
    if (reply.message_index >= 0 || reply.ready.status.ok() || reply.ready.duplicate) continue;
    if (auto key = KeyOf(*reply.command)) keys.push_back(std::move(*key));
  }
  if (keys.empty()) return false;
  auto found = messages_.FindByClientMsgIds(keys);
  return !found.ok() ||
         std::any_of(found->begin(), found->end(), [](const auto& m) { return m.has_value(); });
}

// The common path of every kind: the earlier outcome under the command's
// key is looked for in this batch, then among what the store returned for
// the batch's keys. A repeat of the same request gets that outcome back
// (what `make` adds to it, and `duplicate`); a key that names another
// request is refused; a failed key lookup fails the command. False when
// the key is new.
template <typename Same, typename Make>
bool StorageWriter::AnswerRepeat(Command& command, CommandKind kind, const std::string& sender,
                                 const std::string& key, Staged& staged, Same same, Make make) {
  Message* earlier = nullptr;
  int index = -1;
  if (auto it = staged.by_client_id.find({command.tenant, sender, key});
      it != staged.by_client_id.end()) {
    index = it->second;
    earlier = &staged.batch.messages[index].message;
  } else if (auto found = staged.earlier.find(&command); found != staged.earlier.end()) {
    earlier = &found->second;
  } else if (!staged.lookup_status.ok()) {
    staged.Reply(command, Failed(kind, staged.lookup_status));
    return true;
  } else {
    return false;
  }
  if (!same(*earlier)) {
    staged.Reply(command, Failed(kind, KeyReused(key)));
    return true;
  }
  CommandOutcome outcome = make(*earlier);
  outcome.kind = kind;
  outcome.duplicate = true;
  if (index < 0) outcome.message = std::move(*earlier);  // found in the store: used once
  staged.replies.push_back({&command, index, std::move(outcome)});
  return true;
}

bool StorageWriter::AnswerRepeatedSend(Command& command, const Message& m, Staged& staged) {
  return AnswerRepeat(
      command, CommandKind::kSend, m.sender(), m.client_msg_id(), staged,
      [&](const Message& earlier) { return SameSend(earlier, m); },
      [](const Message&) { return CommandOutcome{}; });
}

bool StorageWriter::AnswerRepeatedMessageOp(Command& command, const pb::MessageOpRequest& request,
                                            Staged& staged) {
  if (request.client_msg_id().empty()) return false;
  return AnswerRepeat(
      command, CommandKind::kMessageOp, command.actor, request.client_msg_id(), staged,
      [&](const Message& earlier) { return SameMessageOp(earlier, request); },
      [](const Message&) { return CommandOutcome{}; });
}

// A retried group change comes back with the group as it is now.
bool StorageWriter::AnswerRepeatedGroupOp(Command& command, const pb::GroupRequest& request,
                                          Staged& staged) {
  if (request.client_msg_id().empty() || request.has_info()) return false;
  return AnswerRepeat(
      command, CommandKind::kGroup, command.actor, request.client_msg_id(), staged,
      [&](const Message& earlier) { return SameGroupOp(earlier, request); },
      [&](const Message& earlier) {
        CommandOutcome outcome;
        if (auto state = LoadGroup(command.tenant, earlier.conversation_id()); state.ok()) {
          outcome.group = (*state)->ToInfo(request.has_create());
        } else {
          outcome.group.set_conversation_id(earlier.conversation_id());
        }
        return outcome;
      });
}

}  // namespace flare
