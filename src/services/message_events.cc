#include "services/message_events.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <limits>

#include "services/session/group.h"

namespace flare {

namespace {

using google::protobuf::io::CodedOutputStream;

Status TooLarge(const std::string& why) {
  return GroupError(Code::kResourceExhausted, pb::ERROR_CODE_MESSAGE_TOO_LARGE, why);
}

// Bytes one edit_history entry adds to its message: tag, length, body.
size_t HistoryEntryBytes(const pb::EditVersion& entry) {
  constexpr uint32_t kTag = (pb::Message::kEditHistoryFieldNumber << 3) | 2;  // length-delimited
  size_t body = entry.ByteSizeLong();
  return CodedOutputStream::VarintSize32(kTag) +
         CodedOutputStream::VarintSize64(static_cast<uint64_t>(body)) + body;
}

// How many edit_history entries `target` keeps after the edit in `op`: at
// most rules.max_edit_history, fewer when the message would not fit in
// rules.max_stored_bytes. An error when it does not fit even without history.
Result<int> HistoryKeptAfterEdit(const pb::MessageOpRequest& op, const pb::Message& target,
                                 const MessageOpRules& rules) {
  pb::Message after = target;
  pb::EditVersion* old = after.add_edit_history();
  old->set_version(target.version());
  *old->mutable_content() = target.content();
  // The real time is not known yet: count the widest one.
  old->set_edited_ms(std::numeric_limits<int64_t>::max());
  *after.mutable_content() = op.edit().content();
  after.set_version(target.version() + 1);
  after.set_status(pb::MESSAGE_STATUS_EDITED);

  size_t size = after.ByteSizeLong();
  int total = after.edit_history_size();
  int kept = total;
  auto drop_oldest = [&] { size -= HistoryEntryBytes(after.edit_history(total - kept--)); };
  while (kept > std::max(0, rules.max_edit_history)) drop_oldest();
  while (kept > 0 && size > rules.max_stored_bytes) drop_oldest();
  if (size > rules.max_stored_bytes) {
    return TooLarge("the edited message would be " + std::to_string(size) +
                    " bytes; a stored message may be at most " +
                    std::to_string(rules.max_stored_bytes));
  }
  return kept;
}

void ApplyReaction(const pb::Event::ReactionChange& change, const std::string& user,
                   pb::Message& target) {
  auto* reactions = target.mutable_reactions();
  auto it = std::find_if(reactions->begin(), reactions->end(),
                         [&](const pb::Reaction& r) { return r.emoji() == change.emoji(); });
  if (change.add()) {
    if (it == reactions->end()) {
      target.add_reactions()->set_emoji(change.emoji());
      it = reactions->end() - 1;
    }
    auto& users = *it->mutable_user_ids();
    if (std::find(users.begin(), users.end(), user) == users.end()) *it->add_user_ids() = user;
  } else if (it != reactions->end()) {
    auto& users = *it->mutable_user_ids();
    auto u = std::find(users.begin(), users.end(), user);
    if (u != users.end()) users.erase(u);
    if (users.empty()) reactions->erase(it);
  }
  for (auto& r : *reactions) r.set_count(r.user_ids_size());
}

Status CheckReaction(const pb::Event::ReactionChange& change, const pb::Message& target,
                     const std::string& actor, const MessageOpRules& rules) {
  if (!change.add()) return Status::Ok();  // removing never grows a message
  const auto& reactions = target.reactions();
  bool known = std::any_of(reactions.begin(), reactions.end(),
                           [&](const pb::Reaction& r) { return r.emoji() == change.emoji(); });
  if (!known && reactions.size() >= rules.max_reactions) {
    return TooLarge("a message may carry at most " + std::to_string(rules.max_reactions) +
                    " distinct reactions");
  }
  pb::Message after = target;
  ApplyReaction(change, actor, after);
  size_t size = after.ByteSizeLong();
  if (size > rules.max_stored_bytes && size > target.ByteSizeLong()) {
    return TooLarge("the message would be " + std::to_string(size) +
                    " bytes with this reaction; a stored message may be at most " +
                    std::to_string(rules.max_stored_bytes));
  }
  return Status::Ok();
}

}  // namespace

Status CheckMessageOp(const pb::MessageOpRequest& op, const pb::Message& target,
                      const std::string& actor, bool is_moderator, int64_t now_ms,
                      const MessageOpRules& rules) {
  if (target.type() == pb::MESSAGE_TYPE_EVENT) return InvalidArgument("events cannot be changed");
  bool recalled = target.status() == pb::MESSAGE_STATUS_RECALLED;
  switch (op.op_case()) {
    case pb::MessageOpRequest::kRecall: {
      if (recalled)
        return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_CONFLICT, "already recalled");
      if (is_moderator) return Status::Ok();
      if (target.sender() != actor) {
        return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_PERMISSION_DENIED,
                          "only the sender or a group admin may recall a message");
      }
      if (now_ms - target.server_time_ms() > rules.recall_window_ms) {
        return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_RECALL_WINDOW_PASSED,
                          "the recall window of " + std::to_string(rules.recall_window_ms / 1000) +
                              " s has passed");
      }
      return Status::Ok();
    }
    case pb::MessageOpRequest::kEdit:
      if (target.sender() != actor) {
        return GroupError(Code::kPermissionDenied, pb::ERROR_CODE_PERMISSION_DENIED,
                          "only the sender may edit a message");
      }
      if (recalled)
        return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_CONFLICT, "message was recalled");
      return HistoryKeptAfterEdit(op, target, rules).status();
    case pb::MessageOpRequest::kReaction:
      if (op.reaction().emoji().empty() || op.reaction().emoji().size() > 64) {
        return InvalidArgument("a reaction is 1 to 64 bytes");
      }
      if (recalled)
        return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_CONFLICT, "message was recalled");
      return CheckReaction(op.reaction(), target, actor, rules);
    case pb::MessageOpRequest::kDeleteForMe:
      return Status::Ok();
    default:
      return InvalidArgument("message_op has no operation");
  }
}

pb::Event MakeEvent(const pb::MessageOpRequest& op, const pb::Message& target,
                    const MessageOpRules& rules) {
  pb::Event e;
  e.set_target_seq(target.seq());
  switch (op.op_case()) {
    case pb::MessageOpRequest::kRecall:
      e.mutable_recall();
      break;
    case pb::MessageOpRequest::kEdit: {
      *e.mutable_edit()->mutable_content() = op.edit().content();
      e.mutable_edit()->set_version(target.version() + 1);
      // CheckMessageOp refused an edit that does not fit; keep none then.
      auto kept = HistoryKeptAfterEdit(op, target, rules);
      e.mutable_edit()->set_history_kept(kept.ok() ? *kept : 0);
      break;
    }
    case pb::MessageOpRequest::kReaction:
      *e.mutable_reaction() = op.reaction();
      break;
    case pb::MessageOpRequest::kDeleteForMe:
      e.mutable_delete_for_me();
      break;
    default:
      break;
  }
  return e;
}

bool ApplyEventToTarget(const pb::Message& event_message, pb::Message& target) {
  const pb::Event& e = event_message.event();
  switch (e.kind_case()) {
    case pb::Event::kRecall:
      // Events are idempotent: a device may see the stored (already changed)
      // target and then the event that changed it.
      if (target.status() == pb::MESSAGE_STATUS_RECALLED) return false;
      target.set_status(pb::MESSAGE_STATUS_RECALLED);
      target.clear_content();
      target.clear_attachments();
      target.clear_quote();
      return true;
    case pb::Event::kEdit: {
      if (target.version() >= e.edit().version()) return false;
      auto* old = target.add_edit_history();
      old->set_version(target.version());
      *old->mutable_content() = target.content();
      old->set_edited_ms(event_message.server_time_ms());
      if (e.edit().has_history_kept()) {
        int drop = target.edit_history_size() - std::max(0, e.edit().history_kept());
        if (drop > 0) target.mutable_edit_history()->DeleteSubrange(0, drop);
      }
      *target.mutable_content() = e.edit().content();
      target.set_version(e.edit().version());
      target.set_status(pb::MESSAGE_STATUS_EDITED);
      return true;
    }
    case pb::Event::kReaction:
      ApplyReaction(e.reaction(), event_message.sender(), target);
      return true;
    default:
      return false;
  }
}

pb::Message RedactFor(const pb::Message& event_message) {
  pb::Message out;
  out.set_server_msg_id(event_message.server_msg_id());
  out.set_conversation_id(event_message.conversation_id());
  out.set_conversation_type(event_message.conversation_type());
  out.set_seq(event_message.seq());
  out.set_type(pb::MESSAGE_TYPE_EVENT);
  out.set_server_time_ms(event_message.server_time_ms());
  out.mutable_event()->mutable_redacted();
  return out;
}

}  // namespace flare
