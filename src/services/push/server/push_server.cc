#include "services/push/server/push_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/ids.h"

namespace flare {

Status PushServer::Recipients(const StoredMessage& sm, std::vector<std::string>& out) {
  out.clear();
  const std::string& conv = sm.message.conversation_id();
  if (auto pair = ParseSingleConversationId(conv)) {
    out.push_back(pair->first);
    if (pair->second != pair->first) out.push_back(pair->second);
    return Status::Ok();
  }
  auto members = conversations_.Members(sm.tenant, conv);
  if (!members.ok()) return members.status();
  out = std::move(members).value();
  return Status::Ok();
}

void PushServer::OnStored(const std::vector<StoredMessage>& messages) {
  for (const auto& sm : messages) {
    if (Status st = Recipients(sm, users_); !st.ok()) {
      // The message is stored; devices will get it by sync.
      spdlog::warn("push of {}#{} skipped: {}", sm.message.conversation_id(), sm.message.seq(),
                   st.ToString());
      continue;
    }
    routes_buf_.clear();
    for (const auto& user : users_) {
      size_t before = routes_buf_.size();
      routes_.Lookup(sm.tenant, user, routes_buf_);
      if (user != sm.message.sender()) continue;
      // The sending device gets a SendAck, not a push; the sender's other devices get the push.
      auto own = std::remove_if(routes_buf_.begin() + before, routes_buf_.end(),
                                [&](const DeviceRoute& r) {
                                  return r.device == sm.message.sender_device();
                                });
      routes_buf_.erase(own, routes_buf_.end());
    }
    if (routes_buf_.empty()) continue;
    sessions_.clear();
    for (const auto& r : routes_buf_) sessions_.push_back(r.session_id);
    ::flare::client::v1::ServerFrame frame;
    *frame.mutable_push()->add_messages() = sm.message;
    auto item = std::make_shared<const PushItem>(sm.message.conversation_id(), sm.message.seq(),
                                                 std::move(frame));
    delivery_.Deliver(sessions_, item);
  }
}

}  // namespace flare
