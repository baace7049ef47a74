// The orchestrator's side of message.v1.MessageOrchestratorService: every
// entry of a gateway's Submit stream and every unary call goes to the
// MessageService, and only its verdict (accepted or the validation error)
// goes back.
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "message/v1/message_orchestrator.grpc.pb.h"
#include "rpc/common/call_metadata.h"
#include "rpc/common/server_call.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"

namespace flare {
namespace {

namespace mpb = ::message::v1;
using mpb::MessageOrchestratorService;

ReplyAddress FromProto(const ::flare::pipeline::v1::ReplyAddress& reply) {
  return ReplyAddress{reply.gateway_id(), reply.session_id(), reply.request_id()};
}

// The entry's actor, checked as the unary calls' metadata is.
Result<Principal> ActorOf(const mpb::Submission& entry) {
  if (!entry.has_actor()) return InvalidArgument("the entry names no actor");
  const mpb::Actor& actor = entry.actor();
  if (!IsValidId(actor.tenant()) || !IsValidId(actor.user_id())) {
    return InvalidArgument("the entry's actor names no valid tenant and user");
  }
  if (!actor.device().empty() && !IsValidId(actor.device())) {
    return InvalidArgument("the entry's actor device is not a valid id");
  }
  return Principal{actor.tenant(), actor.user_id(), actor.device(), actor.platform()};
}

void Fill(mpb::Accepted& accepted, const Status& status) {
  accepted.set_code(static_cast<int32_t>(rpc::ToGrpcCode(status.code())));
  accepted.set_error_code(status.detail());
  if (!status.ok()) accepted.set_message(status.message());
}

class MessageOrchestratorGrpcService final : public MessageOrchestratorService::Service {
 public:
  explicit MessageOrchestratorGrpcService(MessageService& messages) : messages_(messages) {}

  grpc::Status Submit(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<mpb::AcceptedBatch, mpb::SubmissionBatch>* stream) override {
    auto trace = rpc::ReadIncomingTrace(*context);
    if (!trace.ok()) return rpc::ToGrpcStatus(trace.status(), *context);
    ScopedTrace scope(*trace);
    spdlog::debug("rpc message.v1.MessageOrchestratorService/Submit opened peer={} request_id={}",
                  context->peer(), trace->request_id);
    // Synchronous on purpose: MessageService calls only validate and queue
    // (they do not wait on the network), so one batch is answered before
    // the next is read, and the gateway reads answers on its own thread.
    mpb::SubmissionBatch batch;
    mpb::AcceptedBatch answers;
    uint64_t batches = 0;
    while (stream->Read(&batch)) {
      ++batches;
      answers.Clear();
      for (mpb::Submission& entry : *batch.mutable_entries()) {
        mpb::Accepted& accepted = *answers.add_entries();
        accepted.set_entry_id(entry.entry_id());
        Status status = Handle(entry);
        if (!status.ok()) {
          spdlog::debug("rpc Submit entry {} refused: {} request_id={}", entry.entry_id(),
                        status.ToString(), trace->request_id);
        }
        Fill(accepted, status);
      }
      if (!stream->Write(answers)) break;
    }
    spdlog::debug(
        "rpc message.v1.MessageOrchestratorService/Submit closed after {} batch(es) "
        "request_id={}",
        batches, trace->request_id);
    return grpc::Status::OK;
  }

  grpc::Status Send(grpc::ServerContext* context, const mpb::SendCall* call,
                    mpb::Accepted* response) override {
    return rpc::ServeUnary(*context, "message.v1.MessageOrchestratorService/Send",
                           [&](const Principal& who) {
                             pb::SendRequest request = call->request();
                             return messages_.Send(who, request, FromProto(call->reply()));
                           });
  }

  grpc::Status Group(grpc::ServerContext* context, const mpb::GroupCall* call,
                     mpb::Accepted* response) override {
    return rpc::ServeUnary(*context, "message.v1.MessageOrchestratorService/Group",
                           [&](const Principal& who) {
                             pb::GroupRequest request = call->request();
                             return messages_.Group(who, request, FromProto(call->reply()));
                           });
  }

  grpc::Status MessageOp(grpc::ServerContext* context, const mpb::MessageOpCall* call,
                         mpb::Accepted* response) override {
    return rpc::ServeUnary(*context, "message.v1.MessageOrchestratorService/MessageOp",
                           [&](const Principal& who) {
                             pb::MessageOpRequest request = call->request();
                             return messages_.MessageOp(who, request, FromProto(call->reply()));
                           });
  }

  grpc::Status MoveCursor(grpc::ServerContext* context, const mpb::CursorCall* call,
                          mpb::Accepted* response) override {
    return rpc::ServeUnary(
        *context, "message.v1.MessageOrchestratorService/MoveCursor", [&](const Principal& who) {
          const mpb::CursorMove& move = call->move();
          return messages_.MoveCursor(who, move.conversation_id(), move.read_seq(),
                                      move.delivered_seq(), FromProto(call->reply()));
        });
  }

 private:
  // One entry of a stream: its actor and reply address, then the call its
  // body names. A malformed entry is refused, not the whole stream.
  Status Handle(mpb::Submission& entry) {
    auto who = ActorOf(entry);
    if (!who.ok()) return who.status();
    ReplyAddress reply = FromProto(entry.reply());
    switch (entry.body_case()) {
      case mpb::Submission::kSend:
        return messages_.Send(*who, *entry.mutable_send(), std::move(reply));
      case mpb::Submission::kGroup:
        return messages_.Group(*who, *entry.mutable_group(), std::move(reply));
      case mpb::Submission::kMessageOp:
        return messages_.MessageOp(*who, *entry.mutable_message_op(), std::move(reply));
      case mpb::Submission::kCursor: {
        const mpb::CursorMove& move = entry.cursor();
        return messages_.MoveCursor(*who, move.conversation_id(), move.read_seq(),
                                    move.delivered_seq(), std::move(reply));
      }
      case mpb::Submission::BODY_NOT_SET:
        break;
    }
    return InvalidArgument("the entry has no body");
  }

  MessageService& messages_;
};

}  // namespace

RpcServicePtr NewMessageOrchestratorGrpcService(MessageService& messages) {
  return RpcServicePtr(new MessageOrchestratorGrpcService(messages));
}

}  // namespace flare
