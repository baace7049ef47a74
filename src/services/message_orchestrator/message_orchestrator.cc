#include "services/message_orchestrator/message_orchestrator.h"

#include "common/ids.h"

namespace flare {

namespace {

// Whether anything the client sent carries fields this server does not
// know. Checked field by field (cheap) so that the reflection walk of
// DiscardUnknownFields runs only for the rare message that needs it.
bool HasUnknownFields(const Message& m) {
  auto unknown = [](const auto& part) {
    return !part.GetReflection()->GetUnknownFields(part).empty();
  };
  if (unknown(m) || unknown(m.content()) || unknown(m.quote())) return true;
  for (const auto& a : m.attachments()) {
    if (unknown(a)) return true;
  }
  for (const auto& mention : m.mentions()) {
    if (unknown(mention)) return true;
  }
  return false;
}

}  // namespace

Status MessageOrchestrator::ValidateSend(const Principal& who,
                                         const pb::SendRequest& request) const {
  if (request.client_msg_id().empty()) return InvalidArgument("client_msg_id is required");
  if (request.client_msg_id().size() > limits_.max_client_msg_id) {
    return InvalidArgument("client_msg_id is longer than " +
                           std::to_string(limits_.max_client_msg_id) + " bytes");
  }
  if (!pb::MessageType_IsValid(request.type())) return InvalidArgument("unknown message type");
  // Events and notifications are the server's own: a client must not forge
  // them; the business server (HTTP API) may send notifications.
  if (request.type() == pb::MESSAGE_TYPE_EVENT) {
    return InvalidArgument("clients cannot send event messages");
  }
  if (request.type() == pb::MESSAGE_TYPE_NOTIFICATION && !who.business_server) {
    return InvalidArgument("clients cannot send notification messages");
  }
  if (static_cast<size_t>(request.mentions_size()) > limits_.max_mentions) {
    return InvalidArgument("too many mentions");
  }
  for (const auto& m : request.mentions()) {
    if (!m.all() && !IsValidId(m.user_id()))
      return InvalidArgument("a mention names an invalid user id");
  }
  size_t size = request.content().ByteSizeLong();
  for (const auto& a : request.attachments()) size += a.ByteSizeLong();
  for (const auto& [k, v] : request.attributes()) size += k.size() + v.size();
  size += request.quote().ByteSizeLong();
  if (size > limits_.max_message_bytes) {
    return {Code::kResourceExhausted, "message is " + std::to_string(size) +
                                          " bytes; the limit is " +
                                          std::to_string(limits_.max_message_bytes)};
  }
  return Status::Ok();
}

Command MessageOrchestrator::NewCommand(const Principal& who, ReplyAddress reply) const {
  Command c;
  c.tenant = who.tenant;
  c.actor = who.user_id;  // never from the client
  c.actor_device = who.device;
  c.reply = std::move(reply);
  c.received_mono_ms = clock_.MonotonicMs();
  return c;
}

Status MessageOrchestrator::Send(const Principal& who, pb::SendRequest& request,
                                 ReplyAddress reply) {
  FLARE_RETURN_IF_ERROR(ValidateSend(who, request));
  auto conv = access_.Resolve(who, request.peer_user_id(), request.conversation_id(),
                              MembershipCheck::kDeferred);
  if (!conv.ok()) return conv.status();

  Command command = NewCommand(who, std::move(reply));
  SendCommand send;
  send.members = std::move(conv->members);
  Message& m = send.message;
  m.set_client_msg_id(std::move(*request.mutable_client_msg_id()));
  m.set_conversation_id(std::move(conv->conversation_id));
  m.set_conversation_type(static_cast<pb::ConversationType>(conv->type));
  m.set_sender(who.user_id);
  m.set_sender_device(who.device);
  m.set_type(request.type() == pb::MESSAGE_TYPE_UNSPECIFIED ? pb::MESSAGE_TYPE_TEXT
                                                            : request.type());
  m.mutable_content()->Swap(request.mutable_content());
  m.mutable_attachments()->Swap(request.mutable_attachments());
  if (request.has_quote()) m.mutable_quote()->Swap(request.mutable_quote());
  m.mutable_attributes()->swap(*request.mutable_attributes());
  m.mutable_mentions()->Swap(request.mutable_mentions());
  m.set_client_time_ms(request.client_time_ms());
  // Fields this server does not know (in content, attachments, quote, ...)
  // are not stored: they would reach every recipient unchecked.
  if (HasUnknownFields(m)) m.DiscardUnknownFields();
  command.body = std::move(send);
  return ingest_.Submit(std::move(command));
}

Status MessageOrchestrator::Group(const Principal& who, pb::GroupRequest& request,
                                  ReplyAddress reply) {
  if (request.op_case() == pb::GroupRequest::OP_NOT_SET) {
    return InvalidArgument("group request has no operation");
  }
  if (!request.has_create() && request.conversation_id().empty()) {
    return InvalidArgument("conversation_id is required");
  }
  if (!request.has_create() && ParseSingleConversationId(request.conversation_id())) {
    return InvalidArgument("1:1 conversations have no group operations");
  }
  size_t size = request.ByteSizeLong();
  if (size > limits_.max_message_bytes * 8) return InvalidArgument("group request is too large");
  if (request.has_create()) {
    // Named here so the create is keyed by its conversation on the stream.
    auto type = request.create().type();
    if (!request.client_msg_id().empty()) {
      request.set_conversation_id(
          GroupIdForKey(type, who.tenant, who.user_id, request.client_msg_id()));
    } else {
      thread_local SystemRandom random;  // called from many I/O threads
      request.set_conversation_id(NewGroupId(type, clock_.NowMs(), random));
    }
  }
  Command command = NewCommand(who, std::move(reply));
  command.body = GroupCommand{std::move(request)};
  return ingest_.Submit(std::move(command));
}

Status MessageOrchestrator::MessageOp(const Principal& who, pb::MessageOpRequest& request,
                                      ReplyAddress reply) {
  if (request.op_case() == pb::MessageOpRequest::OP_NOT_SET) {
    return InvalidArgument("message_op has no operation");
  }
  if (request.target_seq() <= 0) return InvalidArgument("target_seq must be positive");
  if (request.client_msg_id().size() > limits_.max_client_msg_id) {
    return InvalidArgument("client_msg_id is too long");
  }
  if (request.has_edit() && request.edit().content().ByteSizeLong() > limits_.max_message_bytes) {
    return Status(Code::kResourceExhausted, "edited content is too large");
  }
  auto conv = access_.Resolve(who, "", request.conversation_id(), MembershipCheck::kDeferred);
  if (!conv.ok()) return conv.status();
  request.DiscardUnknownFields();  // e.g. inside edited content: never stored
  Command command = NewCommand(who, std::move(reply));
  command.body = MessageOpCommand{std::move(request)};
  return ingest_.Submit(std::move(command));
}

Status MessageOrchestrator::MoveCursor(const Principal& who, const std::string& conversation_id,
                                       int64_t read_seq, int64_t delivered_seq,
                                       ReplyAddress reply) {
  if (read_seq < 0 || delivered_seq < 0) return InvalidArgument("seq must not be negative");
  auto conv = access_.Resolve(who, "", conversation_id, MembershipCheck::kDeferred);
  if (!conv.ok()) return conv.status();
  Command command = NewCommand(who, std::move(reply));
  command.body =
      CursorCommand{{who.tenant, conv->conversation_id, who.user_id, delivered_seq, read_seq}};
  return ingest_.Submit(std::move(command));
}

}  // namespace flare
