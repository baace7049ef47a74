#include "services/hooks/pre_send_ingest.h"

#include <functional>
#include <utility>
#include <vector>

namespace flare {

PreSendIngest::Shard& PreSendIngest::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

namespace {

namespace pb = ::flare::client::v1;

// What a message operation does, as hooks name it.
std::string OpAction(const pb::MessageOpRequest& request) {
  switch (request.op_case()) {
    case pb::MessageOpRequest::kRecall:
      return "recall";
    case pb::MessageOpRequest::kEdit:
      return "edit";
    case pb::MessageOpRequest::kReaction:
      return "reaction";
    case pb::MessageOpRequest::kDeleteForMe:
      return "delete";
    default:
      return "";
  }
}

// The event a message operation asks for, as the pre_message_op hooks see
// it (not stored yet: no seq, no server ids).
Message OpEvent(const Command& command, const pb::MessageOpRequest& request) {
  Message m;
  m.set_client_msg_id(request.client_msg_id());
  m.set_conversation_id(request.conversation_id());
  m.set_sender(command.actor);
  m.set_sender_device(command.actor_device);
  m.set_type(pb::MESSAGE_TYPE_EVENT);
  pb::Event* event = m.mutable_event();
  event->set_target_seq(request.target_seq());
  switch (request.op_case()) {
    case pb::MessageOpRequest::kRecall:
      *event->mutable_recall() = request.recall();
      break;
    case pb::MessageOpRequest::kEdit:
      *event->mutable_edit() = request.edit();
      break;
    case pb::MessageOpRequest::kReaction:
      *event->mutable_reaction() = request.reaction();
      break;
    case pb::MessageOpRequest::kDeleteForMe:
      *event->mutable_delete_for_me() = request.delete_for_me();
      break;
    default:
      break;
  }
  return m;
}

// The point and action of a stored event for the post-* hooks; "" when
// no point takes it.
std::pair<std::string, std::string> EventPoint(const Message& m) {
  const pb::Event& e = m.event();
  switch (e.kind_case()) {
    case pb::Event::kRecall:
      return {"post_message_op", "recall"};
    case pb::Event::kEdit:
      return {"post_message_op", "edit"};
    case pb::Event::kReaction:
      return {"post_message_op", "reaction"};
    case pb::Event::kDeleteForMe:
      return {"post_message_op", "delete"};
    case pb::Event::kMembership:
      break;
    default:
      return {"", ""};
  }
  switch (e.membership().action()) {
    case pb::MembershipEvent::ACTION_CREATED:
      return {"post_conversation", "created"};
    case pb::MembershipEvent::ACTION_JOINED:
      return {"post_conversation", "member_joined"};
    case pb::MembershipEvent::ACTION_LEFT:
      return {"post_conversation", "member_left"};
    case pb::MembershipEvent::ACTION_REMOVED:
      return {"post_conversation", "member_removed"};
    case pb::MembershipEvent::ACTION_DISMISSED:
      return {"post_conversation", "dismissed"};
    default:
      return {"", ""};
  }
}

}  // namespace

Status PreSendIngest::Submit(Command command) {
  auto* send = std::get_if<SendCommand>(&command.body);
  auto* op = std::get_if<MessageOpCommand>(&command.body);
  if (send == nullptr && op == nullptr) return next_.Submit(std::move(command));
  // What the hooks see: the message of a send, the event an operation asks for.
  Message op_event = op != nullptr ? OpEvent(command, op->request) : Message();
  const Message& m = send != nullptr ? send->message : op_event;
  const char* point = send != nullptr ? "pre_send" : "pre_message_op";
  bool hooked = engine_.SelectsPre(point, command.tenant, m);
  // No hook applies and nothing waits: straight on (the common case
  // without hooks, without a lock).
  if (!hooked && waiting_.load() == 0) return next_.Submit(std::move(command));
  // A sender's sends and operations in one conversation share a lane: an
  // edit never overtakes the send it edits.
  std::string key = command.tenant + '\n' + m.conversation_id() + '\n' + command.actor;
  auto slot = std::make_shared<Slot>();
  {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    // Nothing of this sender waits in this conversation: straight on
    // (handed on outside the lock, below).
    if (!hooked && shard.lanes.find(key) == shard.lanes.end()) {
      slot = nullptr;
    } else if (waiting_.load() >= max_waiting_) {
      return Unavailable("server busy; retry");
    } else {
      ++waiting_;
      shard.lanes[key].slots.push_back(slot);
    }
  }
  if (slot == nullptr) return next_.Submit(std::move(command));
  if (!hooked) {  // waits behind its sender's earlier, hooked commands
    slot->command = std::move(command);
    Complete(key, slot);
    return Status::Ok();
  }
  std::string action = op != nullptr ? OpAction(op->request) : "";
  Message message = send != nullptr ? std::move(send->message) : std::move(op_event);
  std::string tenant = command.tenant;
  slot->command = std::move(command);
  engine_.RunPre(point, action, tenant, std::move(message),
                 [this, key, slot](PreSendVerdict verdict) {
                   if (!verdict.status.ok()) {
                     slot->refusal = std::move(verdict.status);
                     slot->hook_code = verdict.hook_code;
                   } else if (auto* s = std::get_if<SendCommand>(&slot->command.body)) {
                     s->message = std::move(verdict.message);
                   }
                   Complete(key, slot);
                 });
  return Status::Ok();
}

// Marks `slot` ready and hands on the ready head of its lane, in order. One
// thread at a time releases a lane, outside the lock (Release calls into
// the writer and the gateway); others only mark their slot ready.
void PreSendIngest::Complete(const std::string& key, const std::shared_ptr<Slot>& slot) {
  Shard& shard = ShardOf(key);
  std::unique_lock lock(shard.mu);
  slot->ready = true;
  Lane& lane = shard.lanes[key];
  if (lane.releasing) return;
  lane.releasing = true;
  while (true) {
    std::vector<std::shared_ptr<Slot>> ready;
    while (!lane.slots.empty() && lane.slots.front()->ready) {
      ready.push_back(std::move(lane.slots.front()));
      lane.slots.pop_front();
    }
    if (ready.empty()) break;
    lock.unlock();
    for (auto& s : ready) Release(*s);
    waiting_ -= ready.size();
    lock.lock();
  }
  lane.releasing = false;
  if (lane.slots.empty()) shard.lanes.erase(key);
}

void PreSendIngest::Release(Slot& slot) {
  ReplyAddress reply = slot.command.reply;  // the command is moved into the ingest
  CommandKind kind = std::holds_alternative<MessageOpCommand>(slot.command.body)
                         ? CommandKind::kMessageOp
                         : CommandKind::kSend;
  Status status = slot.refusal;
  if (status.ok()) status = next_.Submit(std::move(slot.command));
  if (status.ok()) return;
  CommandOutcome outcome;
  outcome.kind = kind;
  outcome.status = std::move(status);
  outcome.hook_code = slot.hook_code;
  replies_.OnCommandDone(reply, outcome);
}

void PostSendListener::OnStored(std::vector<CommittedMessage>& messages) {
  for (const auto& cm : messages) {
    const Message& m = cm.stored.message;
    if (m.type() == pb::MESSAGE_TYPE_NOTIFICATION) continue;
    if (m.type() != pb::MESSAGE_TYPE_EVENT) {
      engine_.PostSend(cm.stored.tenant, m);
      continue;
    }
    // Events: message operations and conversation changes.
    auto [point, action] = EventPoint(m);
    if (!point.empty()) engine_.Post(point, action, cm.stored.tenant, m);
  }
  next_.OnStored(messages);
}

}  // namespace flare
