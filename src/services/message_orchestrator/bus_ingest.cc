#include "services/message_orchestrator/bus_ingest.h"

#include "common/ids.h"
#include "services/storage/writer/command_codec.h"

namespace flare {

namespace {

// Every command on the stream carries an idempotency key: a redelivered
// one is then answered with its first outcome instead of applied twice.
void EnsureIdempotencyKey(Command& command) {
  thread_local SystemRandom random;
  auto fill = [&](std::string* key) {
    if (key->empty()) *key = "auto:" + MakeUlid(0, random);
  };
  if (auto* group = std::get_if<GroupCommand>(&command.body)) {
    if (!group->request.has_info()) fill(group->request.mutable_client_msg_id());
  } else if (auto* op = std::get_if<MessageOpCommand>(&command.body)) {
    fill(op->request.mutable_client_msg_id());
  }
}

}  // namespace

Status BusIngest::Flush(int timeout_ms) {
  std::shared_lock lock(mu_);
  return producer_ ? producer_->Flush(timeout_ms) : Status::Ok();
}

void BusIngest::Close(int timeout_ms) {
  std::lock_guard lock(mu_);
  if (!producer_) return;
  (void)producer_->Flush(timeout_ms);
  producer_.reset();
}

Status BusIngest::Submit(Command command) {
  EnsureIdempotencyKey(command);
  std::string key = CommandStreamKey(command);
  std::string value = EncodeCommand(command);
  auto kind = static_cast<CommandKind>(command.body.index());
  std::shared_lock lock(mu_);
  if (!producer_) return Unavailable("server is shutting down");
  return producer_->Publish(
      topic_, key, value, [this, kind, reply = std::move(command.reply)](Status published) {
        if (published.ok() || reply.session_id == 0) return;
        CommandOutcome outcome;
        outcome.kind = kind;
        outcome.status =
            Unavailable("the ingest stream did not take the command: " + published.message());
        replies_.OnCommandDone(reply, outcome);
      });
}

}  // namespace flare
