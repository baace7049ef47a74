#include "services/signaling/inbox/gateway_record_codec.h"

#include <unordered_map>

#include "flare/pipeline/v1/pipeline.pb.h"

namespace flare {
namespace {

namespace wire = ::flare::pipeline::v1;

constexpr int kLastCode = static_cast<int>(Code::kAborted);

wire::CommandKind KindToWire(CommandKind kind) {
  switch (kind) {
    case CommandKind::kSend:
      return wire::COMMAND_KIND_SEND;
    case CommandKind::kGroup:
      return wire::COMMAND_KIND_GROUP;
    case CommandKind::kMessageOp:
      return wire::COMMAND_KIND_MESSAGE_OP;
    case CommandKind::kCursor:
      return wire::COMMAND_KIND_CURSOR;
  }
  return wire::COMMAND_KIND_SEND;
}

Result<CommandKind> KindFromWire(wire::CommandKind kind) {
  switch (kind) {
    case wire::COMMAND_KIND_SEND:
      return CommandKind::kSend;
    case wire::COMMAND_KIND_GROUP:
      return CommandKind::kGroup;
    case wire::COMMAND_KIND_MESSAGE_OP:
      return CommandKind::kMessageOp;
    case wire::COMMAND_KIND_CURSOR:
      return CommandKind::kCursor;
    default:
      return InvalidArgument("gateway record: unknown command kind " + std::to_string(kind));
  }
}

Result<pb::ServerFrame> ParseFrame(const std::string& bytes) {
  pb::ServerFrame frame;
  if (!frame.ParseFromString(bytes)) return InvalidArgument("gateway record: frame does not parse");
  return frame;
}

Result<InboxRecord> DecodeOutcome(wire::CommandOutcome& in) {
  auto kind = KindFromWire(in.kind());
  if (!kind.ok()) return kind.status();
  if (in.status_code() < 0 || in.status_code() > kLastCode) {
    return InvalidArgument("gateway record: unknown status code " +
                           std::to_string(in.status_code()));
  }
  InboxOutcome out;
  out.session_id = in.session_id();
  out.request_id = std::move(*in.mutable_request_id());
  out.outcome.kind = *kind;
  if (in.status_code() != 0) {
    out.outcome.status = Status(static_cast<Code>(in.status_code()), in.status_message())
                             .WithDetail(in.error_detail());
  }
  out.outcome.duplicate = in.duplicate();
  out.outcome.hook_code = in.hook_code();
  out.outcome.message.Swap(in.mutable_result());
  out.outcome.group.Swap(in.mutable_group());
  return InboxRecord(std::move(out));
}

Result<InboxRecord> DecodeDelivery(wire::Delivery& in) {
  std::vector<std::shared_ptr<const PushItem>> items;
  items.reserve(in.items_size());
  for (auto& item : *in.mutable_items()) {
    auto frame = ParseFrame(item.frame());
    if (!frame.ok()) return frame.status();
    items.push_back(std::make_shared<const PushItem>(std::move(*item.mutable_conversation_id()),
                                                     item.seq(), std::move(frame).value(),
                                                     std::move(*item.mutable_frame())));
  }
  InboxDelivery out;
  out.pushes.reserve(in.sessions_size());
  for (const auto& session : in.sessions()) {
    SessionPushes& pushes = out.pushes.emplace_back();
    pushes.session_id = session.session_id();
    for (uint32_t index : session.items()) {
      if (index >= items.size()) return InvalidArgument("gateway record: item index out of range");
      pushes.items.push_back(items[index]);
    }
  }
  return InboxRecord(std::move(out));
}

Result<InboxRecord> DecodeNotice(wire::Notice& in) {
  auto frame = ParseFrame(in.frame());
  if (!frame.ok()) return frame.status();
  InboxNotice out;
  out.session_ids.assign(in.session_ids().begin(), in.session_ids().end());
  out.frame =
      std::make_shared<const SharedFrame>(std::move(frame).value(), std::move(*in.mutable_frame()));
  return InboxRecord(std::move(out));
}

InboxRecord DecodeKick(wire::Kick& in) {
  return InboxKick{in.session_id(), std::move(*in.mutable_reason())};
}

}  // namespace

std::string EncodeInboxOutcome(const ReplyAddress& to, const CommandOutcome& outcome) {
  wire::GatewayRecord record;
  wire::CommandOutcome* out = record.mutable_outcome();
  out->set_session_id(to.session_id);
  out->set_request_id(to.request_id);
  out->set_kind(KindToWire(outcome.kind));
  out->set_status_code(static_cast<int>(outcome.status.code()));
  out->set_status_message(outcome.status.message());
  out->set_error_detail(outcome.status.detail());
  out->set_duplicate(outcome.duplicate);
  out->set_hook_code(outcome.hook_code);
  if (outcome.status.ok()) {
    *out->mutable_result() = outcome.result();
    if (outcome.kind == CommandKind::kGroup) *out->mutable_group() = outcome.group;
  }
  return record.SerializeAsString();
}

namespace {

// One delivery record in the making: each distinct item written once.
class DeliveryRecord {
 public:
  bool empty() const { return items_ == 0; }
  size_t bytes() const { return bytes_; }
  // What adding `item` would add to the record, roughly (field tags and
  // lengths take a few bytes each).
  size_t Cost(const PushItem* item) const {
    constexpr size_t kIndexBytes = 5;
    if (index_of_.contains(item)) return kIndexBytes;
    return kIndexBytes + item->conversation_id.size() +
           item->frame.Bytes(Encoding::kBinary)->size() + 24;
  }
  void Add(uint64_t session_id, const PushItem* item) {
    bytes_ += Cost(item);
    wire::Delivery* out = record_.mutable_delivery();
    if (session_ == nullptr || session_->session_id() != session_id) {
      session_ = out->add_sessions();
      session_->set_session_id(session_id);
      bytes_ += 12;
    }
    auto [it, fresh] = index_of_.try_emplace(item, static_cast<uint32_t>(index_of_.size()));
    if (fresh) {
      wire::PushedItem* pushed = out->add_items();
      pushed->set_conversation_id(item->conversation_id);
      pushed->set_seq(item->seq);
      pushed->set_frame(*item->frame.Bytes(Encoding::kBinary));
    }
    session_->add_items(it->second);
    ++items_;
  }
  std::string Serialize() const { return record_.SerializeAsString(); }

 private:
  wire::GatewayRecord record_;
  wire::SessionItems* session_ = nullptr;
  std::unordered_map<const PushItem*, uint32_t> index_of_;
  size_t items_ = 0;
  size_t bytes_ = 0;
};

}  // namespace

std::vector<std::string> EncodeInboxDelivery(std::span<const SessionPushes> pushes,
                                             size_t max_record_bytes) {
  std::vector<std::string> records;
  DeliveryRecord current;
  for (const auto& session : pushes) {
    for (const auto& item : session.items) {
      if (!current.empty() && current.bytes() + current.Cost(item.get()) > max_record_bytes) {
        records.push_back(current.Serialize());
        current = DeliveryRecord();
      }
      current.Add(session.session_id, item.get());
    }
  }
  if (!current.empty()) records.push_back(current.Serialize());
  return records;
}

std::string EncodeInboxNotice(const std::vector<uint64_t>& session_ids, const SharedFrame& frame) {
  wire::GatewayRecord record;
  wire::Notice* out = record.mutable_notice();
  for (uint64_t id : session_ids) out->add_session_ids(id);
  out->set_frame(*frame.Bytes(Encoding::kBinary));
  return record.SerializeAsString();
}

std::string EncodeInboxKick(uint64_t session_id, const std::string& reason) {
  wire::GatewayRecord record;
  wire::Kick* out = record.mutable_kick();
  out->set_session_id(session_id);
  out->set_reason(reason);
  return record.SerializeAsString();
}

Result<InboxRecord> DecodeInboxRecord(std::string_view bytes) {
  wire::GatewayRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgument("gateway inbox record does not parse");
  }
  switch (record.body_case()) {
    case wire::GatewayRecord::kOutcome:
      return DecodeOutcome(*record.mutable_outcome());
    case wire::GatewayRecord::kDelivery:
      return DecodeDelivery(*record.mutable_delivery());
    case wire::GatewayRecord::kNotice:
      return DecodeNotice(*record.mutable_notice());
    case wire::GatewayRecord::kKick:
      return DecodeKick(*record.mutable_kick());
    case wire::GatewayRecord::BODY_NOT_SET:
      break;
  }
  return InvalidArgument("gateway inbox record has no body");
}

}  // namespace flare
