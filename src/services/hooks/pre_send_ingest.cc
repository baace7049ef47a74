#include "services/hooks/pre_send_ingest.h"

#include <functional>
#include <vector>

namespace flare {

PreSendIngest::Shard& PreSendIngest::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

Status PreSendIngest::Submit(Command command) {
  auto* send = std::get_if<SendCommand>(&command.body);
  if (send == nullptr) return next_.Submit(std::move(command));
  const Message& m = send->message;
  bool hooked = engine_.SelectsPreSend(command.tenant, m);
  // No hook applies and no send waits for one: straight on (the common
  // case without hooks, without a lock).
  if (!hooked && waiting_.load() == 0) return next_.Submit(std::move(command));
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
  if (!hooked) {  // waits behind its sender's earlier, hooked sends
    slot->command = std::move(command);
    Complete(key, slot);
    return Status::Ok();
  }
  Message message = std::move(send->message);
  std::string tenant = command.tenant;
  slot->command = std::move(command);
  engine_.RunPreSend(tenant, std::move(message), [this, key, slot](PreSendVerdict verdict) {
    if (verdict.status.ok()) {
      std::get<SendCommand>(slot->command.body).message = std::move(verdict.message);
    } else {
      slot->refusal = std::move(verdict.status);
      slot->hook_code = verdict.hook_code;
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
  Status status = slot.refusal;
  if (status.ok()) status = next_.Submit(std::move(slot.command));
  if (status.ok()) return;
  CommandOutcome outcome;
  outcome.kind = CommandKind::kSend;
  outcome.status = std::move(status);
  outcome.hook_code = slot.hook_code;
  replies_.OnCommandDone(reply, outcome);
}

void PostSendListener::OnStored(std::vector<CommittedMessage>& messages) {
  for (const auto& cm : messages) {
    const Message& m = cm.stored.message;
    // Only what a client sent: events (recall, edit, membership, ...) are
    // the message-operation and conversation points' business.
    if (m.type() == ::flare::client::v1::MESSAGE_TYPE_EVENT ||
        m.type() == ::flare::client::v1::MESSAGE_TYPE_NOTIFICATION) {
      continue;
    }
    engine_.PostSend(cm.stored.tenant, m);
  }
  next_.OnStored(messages);
}

}  // namespace flare
