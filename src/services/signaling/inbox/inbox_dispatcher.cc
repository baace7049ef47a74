#include "services/signaling/inbox/inbox_dispatcher.h"

#include <variant>

#include "services/signaling/inbox/gateway_record_codec.h"

namespace flare {

namespace {

struct Dispatch {
  const std::string& gateway_id;
  CommandReplies& replies;
  PushDelivery& delivery;
  SessionKicks& kicks;
  void operator()(const InboxOutcome& r) const {
    replies.OnCommandDone(ReplyAddress{gateway_id, r.session_id, r.request_id}, r.outcome);
  }
  void operator()(const InboxDelivery& r) const { delivery.Deliver(r.pushes); }
  void operator()(const InboxNotice& r) const { delivery.Notify(r.session_ids, r.frame); }
  void operator()(const InboxKick& r) const { kicks.KickSession(r.session_id, r.reason); }
};

}  // namespace

Status InboxDispatcher::Handle(std::string_view record) {
  auto decoded = DecodeInboxRecord(record);
  if (!decoded.ok()) return decoded.status();
  if (received_ != nullptr) received_->Add();
  std::visit(Dispatch{gateway_id_, replies_, delivery_, kicks_}, *decoded);
  return Status::Ok();
}

}  // namespace flare
