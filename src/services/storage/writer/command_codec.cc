#include "services/storage/writer/command_codec.h"

#include "common/ids.h"
#include "flare/pipeline/v1/pipeline.pb.h"

namespace flare {
namespace {

namespace wire = ::flare::pipeline::v1;

struct BodyEncoder {
  wire::Command& out;
  void operator()(const SendCommand& send) const {
    auto* s = out.mutable_send();
    *s->mutable_message() = send.message;
    for (const auto& member : send.members) s->add_members(member);
  }
  void operator()(const GroupCommand& group) const { *out.mutable_group() = group.request; }
  void operator()(const MessageOpCommand& op) const { *out.mutable_message_op() = op.request; }
  void operator()(const CursorCommand& cursor) const {
    auto* c = out.mutable_cursor();
    c->set_conversation_id(cursor.cursor.conversation_id);
    c->set_user_id(cursor.cursor.user_id);
    c->set_delivered_seq(cursor.cursor.delivered_seq);
    c->set_read_seq(cursor.cursor.read_seq);
  }
};

}  // namespace

std::string EncodeCommand(const Command& command) {
  wire::Command out;
  out.set_tenant(command.tenant);
  out.set_actor(command.actor);
  out.set_actor_device(command.actor_device);
  auto* reply = out.mutable_reply();
  reply->set_gateway_id(command.reply.gateway_id);
  reply->set_session_id(command.reply.session_id);
  reply->set_request_id(command.reply.request_id);
  std::visit(BodyEncoder{out}, command.body);
  return out.SerializeAsString();
}

Result<Command> DecodeCommand(std::string_view bytes) {
  wire::Command in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgument("ingest record is not a pipeline command");
  }
  Command c;
  c.tenant = std::move(*in.mutable_tenant());
  c.actor = std::move(*in.mutable_actor());
  c.actor_device = std::move(*in.mutable_actor_device());
  c.reply.gateway_id = std::move(*in.mutable_reply()->mutable_gateway_id());
  c.reply.session_id = in.reply().session_id();
  c.reply.request_id = std::move(*in.mutable_reply()->mutable_request_id());
  switch (in.body_case()) {
    case wire::Command::kSend: {
      SendCommand send;
      send.message.Swap(in.mutable_send()->mutable_message());
      for (auto& member : *in.mutable_send()->mutable_members()) {
        send.members.push_back(std::move(member));
      }
      c.body = std::move(send);
      break;
    }
    case wire::Command::kGroup:
      c.body = GroupCommand{std::move(*in.mutable_group())};
      break;
    case wire::Command::kMessageOp:
      c.body = MessageOpCommand{std::move(*in.mutable_message_op())};
      break;
    case wire::Command::kCursor: {
      const auto& w = in.cursor();
      c.body = CursorCommand{
          {c.tenant, w.conversation_id(), w.user_id(), w.delivered_seq(), w.read_seq()}};
      break;
    }
    case wire::Command::BODY_NOT_SET:
      return InvalidArgument("pipeline command has no body");
  }
  return c;
}

const std::string& CommandConversation(const Command& command) {
  return std::visit(
      [](const auto& body) -> const std::string& {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SendCommand>) {
          return body.message.conversation_id();
        } else if constexpr (std::is_same_v<T, CursorCommand>) {
          return body.cursor.conversation_id;
        } else {
          return body.request.conversation_id();
        }
      },
      command.body);
}

std::string CommandStreamKey(const Command& command) {
  return ConversationKey(command.tenant, CommandConversation(command));
}

}  // namespace flare
