#include "services/message_events.h"

#include <algorithm>

#include "services/session/group.h"

namespace flare {

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
      return Status::Ok();
    case pb::MessageOpRequest::kReaction:
      if (op.reaction().emoji().empty() || op.reaction().emoji().size() > 64) {
        return InvalidArgument("a reaction is 1 to 64 bytes");
      }
      if (recalled)
        return GroupError(Code::kInvalidArgument, pb::ERROR_CODE_CONFLICT, "message was recalled");
      return Status::Ok();
    case pb::MessageOpRequest::kDeleteForMe:
      return Status::Ok();
    default:
      return InvalidArgument("message_op has no operation");
  }
}

pb::Event MakeEvent(const pb::MessageOpRequest& op, const pb::Message& target) {
  pb::Event e;
  e.set_target_seq(target.seq());
  switch (op.op_case()) {
    case pb::MessageOpRequest::kRecall:
      e.mutable_recall();
      break;
    case pb::MessageOpRequest::kEdit:
      *e.mutable_edit()->mutable_content() = op.edit().content();
      e.mutable_edit()->set_version(target.version() + 1);
      break;
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

namespace {

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

}  // namespace

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
