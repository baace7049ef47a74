#include "services/message_orchestrator/message_orchestrator.h"

namespace flare {

namespace pb = ::flare::client::v1;

Status MessageOrchestrator::Validate(const pb::SendRequest& request) const {
  if (request.client_msg_id().empty()) return InvalidArgument("client_msg_id is required");
  if (request.client_msg_id().size() > limits_.max_client_msg_id) {
    return InvalidArgument("client_msg_id is longer than " +
                           std::to_string(limits_.max_client_msg_id) + " bytes");
  }
  if (!pb::MessageType_IsValid(request.type())) return InvalidArgument("unknown message type");
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

Status MessageOrchestrator::Send(const Principal& who, pb::SendRequest& request,
                                 const std::string& request_id,
                                 std::shared_ptr<SendCompletion> origin) {
  FLARE_RETURN_IF_ERROR(Validate(request));
  auto conv = access_.Resolve(who, request.peer_user_id(), request.conversation_id());
  if (!conv.ok()) return conv.status();

  IngestMessage ingest;
  ingest.tenant = who.tenant;
  ingest.members = std::move(conv->members);
  ingest.request_id = request_id;
  ingest.origin = std::move(origin);
  ingest.received_mono_ms = clock_.MonotonicMs();
  Message& m = ingest.message;
  m.set_client_msg_id(std::move(*request.mutable_client_msg_id()));
  m.set_conversation_id(std::move(conv->conversation_id));
  m.set_conversation_type(static_cast<pb::ConversationType>(conv->type));
  m.set_sender(who.user_id);  // never from the client
  m.set_sender_device(who.device);
  m.set_type(request.type() == pb::MESSAGE_TYPE_UNSPECIFIED ? pb::MESSAGE_TYPE_TEXT
                                                            : request.type());
  m.mutable_content()->Swap(request.mutable_content());
  m.mutable_attachments()->Swap(request.mutable_attachments());
  if (request.has_quote()) m.mutable_quote()->Swap(request.mutable_quote());
  m.mutable_attributes()->swap(*request.mutable_attributes());
  m.set_client_time_ms(request.client_time_ms());
  return ingest_.Submit(std::move(ingest));
}

}  // namespace flare
