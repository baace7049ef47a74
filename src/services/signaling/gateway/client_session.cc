#include "services/signaling/gateway/client_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace flare {

namespace pb = ::flare::client::v1;

namespace {
constexpr uint16_t kCloseGoingAway = 1001;
constexpr uint16_t kClosePolicy = 1008;
}  // namespace

void ClientSession::OnFrameReceived(Encoding encoding, int64_t now_ms) {
  std::lock_guard lock(mu_);
  encoding_ = encoding;
  last_activity_ms_ = now_ms;
}

std::optional<Principal> ClientSession::principal() const {
  std::lock_guard lock(mu_);
  return principal_;
}

bool ClientSession::SetPrincipal(Principal who) {
  std::lock_guard lock(mu_);
  if (principal_) return false;
  principal_ = std::move(who);
  return true;
}

void ClientSession::Write(std::shared_ptr<const std::string> bytes, Encoding encoding) {
  size_t queued = conn_->Send(std::move(bytes), encoding == Encoding::kBinary);
  if (queued > limits_.max_send_queue_bytes) CloseSlowConsumer("send queue is full");
}

void ClientSession::Reply(const std::string& request_id, pb::ServerFrame& frame) {
  Encoding encoding;
  {
    std::lock_guard lock(mu_);
    encoding = encoding_;
  }
  frame.set_request_id(request_id);
  Write(std::make_shared<const std::string>(EncodeFrame(frame, encoding)), encoding);
}

void ClientSession::ReplyError(const std::string& request_id, pb::ErrorCode code,
                               const std::string& text) {
  pb::ServerFrame frame;
  frame.mutable_error()->set_code(code);
  frame.mutable_error()->set_message(text);
  Reply(request_id, frame);
}

void ClientSession::ReplyRateLimited(const std::string& request_id, const std::string& text,
                                     int64_t retry_after_ms) {
  pb::ServerFrame frame;
  frame.mutable_error()->set_code(pb::ERROR_CODE_RATE_LIMITED);
  frame.mutable_error()->set_message(text);
  frame.mutable_error()->set_retry_after_ms(retry_after_ms);
  Reply(request_id, frame);
}

void ClientSession::ReplyStatus(const std::string& request_id, const Status& status) {
  ReplyError(request_id, ErrorCodeFor(status), status.message());
}

void ClientSession::OnCommandDone(const std::string& request_id, const CommandOutcome& outcome) {
  pb::ServerFrame frame;
  if (!outcome.status.ok()) {
    frame.mutable_error()->set_code(ErrorCodeFor(outcome.status));
    frame.mutable_error()->set_message(outcome.status.message());
    frame.mutable_error()->set_hook_code(outcome.hook_code);
    Reply(request_id, frame);
    return;
  }
  const Message& m = outcome.result();
  auto fill_ack = [&](pb::SendAck* ack) {
    ack->set_client_msg_id(m.client_msg_id());
    ack->set_server_msg_id(m.server_msg_id());
    ack->set_conversation_id(m.conversation_id());
    ack->set_seq(m.seq());
    ack->set_server_time_ms(m.server_time_ms());
    ack->set_duplicate(outcome.duplicate);
  };
  switch (outcome.kind) {
    case CommandKind::kSend:
      fill_ack(frame.mutable_send_ack());
      break;
    case CommandKind::kMessageOp:
      fill_ack(frame.mutable_op_ack());
      break;
    case CommandKind::kGroup:
      *frame.mutable_group_result()->mutable_info() = outcome.group;
      frame.mutable_group_result()->set_seq(m.seq());
      break;
    case CommandKind::kCursor:
      frame.mutable_ok();
      break;
  }
  Reply(request_id, frame);
}

void ClientSession::Notify(const SharedFrame& frame) {
  Encoding encoding;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    encoding = encoding_;
  }
  Write(frame.Bytes(encoding), encoding);
}

bool ClientSession::AllowTyping(const std::string& conversation_id, int64_t now_ms,
                                int64_t interval_ms) {
  if (interval_ms <= 0) return true;  // no limit: nothing to remember
  std::lock_guard lock(mu_);
  auto it = last_typing_ms_.find(conversation_id);
  if (it != last_typing_ms_.end()) {
    if (now_ms - it->second < interval_ms) return false;
    it->second = now_ms;
    return true;
  }
  if (last_typing_ms_.size() >= limits_.max_typing_conversations) {
    // Entries past the interval no longer limit anything.
    std::erase_if(last_typing_ms_, [&](const auto& e) { return now_ms - e.second >= interval_ms; });
    if (last_typing_ms_.size() >= limits_.max_typing_conversations) return false;
  }
  last_typing_ms_.emplace(conversation_id, now_ms);
  return true;
}

Status ClientSession::AddSubscriptions(const std::vector<std::string>& users) {
  std::lock_guard lock(mu_);
  std::unordered_set<std::string> fresh;
  for (const auto& u : users) {
    if (!subscriptions_.contains(u)) fresh.insert(u);
  }
  if (subscriptions_.size() + fresh.size() > limits_.max_subscriptions) {
    return InvalidArgument("at most " + std::to_string(limits_.max_subscriptions) +
                           " presence subscriptions per connection (" +
                           std::to_string(subscriptions_.size()) + " held)");
  }
  subscriptions_.merge(fresh);
  return Status::Ok();
}

void ClientSession::RemoveSubscriptions(const std::vector<std::string>& users) {
  std::lock_guard lock(mu_);
  for (const auto& u : users) subscriptions_.erase(u);
}

std::vector<std::string> ClientSession::Subscriptions() const {
  std::lock_guard lock(mu_);
  return {subscriptions_.begin(), subscriptions_.end()};
}

void ClientSession::Push(const std::vector<std::shared_ptr<const PushItem>>& items,
                         int64_t now_ms) {
  Encoding encoding;
  bool overflow = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    overflow = unacked_count_ + items.size() > limits_.max_unacked_pushes;
    if (!overflow) {
      for (const auto& item : items) {
        unacked_[item->conversation_id].push_back({item->seq, item, now_ms});
      }
      unacked_count_ += items.size();
    }
    encoding = encoding_;
  }
  if (overflow) {
    // The device syncs what it missed when it reconnects.
    CloseSlowConsumer("too many unacked pushes");
    return;
  }
  if (metrics_) metrics_->pushes_sent.Add(static_cast<int64_t>(items.size()));
  std::vector<std::shared_ptr<const std::string>> frames;
  frames.reserve(items.size());
  for (const auto& item : items) frames.push_back(item->frame.Bytes(encoding));
  size_t queued = conn_->SendMany(frames, encoding == Encoding::kBinary);
  if (queued > limits_.max_send_queue_bytes) CloseSlowConsumer("send queue is full");
}

// Pushes carry one message each (PushServer); its server_time_ms is the
// writer's wall clock, so across machines this includes their clock skew.
void ClientSession::ObserveDelivery(const PushItem& item, int64_t now_wall_ms) {
  if (metrics_ == nullptr) return;
  const auto& push = item.frame.frame().push();
  if (push.messages_size() == 0) return;
  int64_t stamped = push.messages(0).server_time_ms();
  if (stamped <= 0) return;
  metrics_->delivery_ms.ObserveMs(static_cast<double>(std::max<int64_t>(now_wall_ms - stamped, 0)));
}

size_t ClientSession::Ack(const std::string& conversation_id, int64_t seq, int64_t now_wall_ms) {
  std::lock_guard lock(mu_);
  auto it = unacked_.find(conversation_id);
  if (it == unacked_.end()) return 0;
  auto& pending = it->second;
  size_t settled = std::erase_if(pending, [&](const Unacked& u) {
    if (u.seq > seq) return false;
    ObserveDelivery(*u.item, now_wall_ms);
    return true;
  });
  unacked_count_ -= settled;
  if (pending.empty()) unacked_.erase(it);
  if (settled > 0) {
    int64_t& cursor = delivered_[conversation_id];
    cursor = std::max(cursor, seq);
  }
  return settled;
}

std::vector<std::pair<std::string, int64_t>> ClientSession::TakeDeliveredCursors() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out(delivered_.begin(), delivered_.end());
  delivered_.clear();
  return out;
}

int64_t ClientSession::ResendDelay(int64_t timeout_ms, int64_t resends) const {
  int64_t cap = std::max(timeout_ms, limits_.max_resend_interval_ms);
  int64_t delay = timeout_ms;
  for (int64_t i = 0; i < resends && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

size_t ClientSession::ResendDue(int64_t now_ms, int64_t timeout_ms, int64_t report_at_resend,
                                std::vector<MessageRef>* overdue) {
  std::vector<std::shared_ptr<const PushItem>> due;
  Encoding encoding;
  bool gave_up = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return 0;
    encoding = encoding_;
    for (auto& [conv, pending] : unacked_) {
      for (auto& u : pending) {
        if (now_ms - u.sent_ms < ResendDelay(timeout_ms, u.resends)) continue;
        if (u.resends >= limits_.max_resends) {
          gave_up = true;
          break;
        }
        u.sent_ms = now_ms;
        ++u.resends;
        due.push_back(u.item);
        if (overdue != nullptr && u.resends == report_at_resend) overdue->push_back({conv, u.seq});
      }
      if (gave_up) break;
    }
  }
  if (gave_up) {
    CloseSlowConsumer("pushes not acked after the last resend");
    return 0;
  }
  for (const auto& item : due) Write(item->frame.Bytes(encoding), encoding);
  return due.size();
}

size_t ClientSession::UnackedCount() const {
  std::lock_guard lock(mu_);
  return unacked_count_;
}

SessionCheck ClientSession::Check(int64_t now_ms, int64_t auth_timeout_ms,
                                  int64_t idle_timeout_ms) const {
  std::lock_guard lock(mu_);
  if (!principal_ && now_ms - opened_ms_ >= auth_timeout_ms) return SessionCheck::kAuthTimeout;
  if (now_ms - last_activity_ms_ >= idle_timeout_ms) return SessionCheck::kIdleTimeout;
  return SessionCheck::kOk;
}

void ClientSession::Close(uint16_t code, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  conn_->Close(code, reason);
}

void ClientSession::SendGoingAway(const std::string& reason) {
  pb::ServerFrame frame;
  frame.mutable_going_away()->set_reason(reason);
  Reply("", frame);
  Close(kCloseGoingAway, reason);
}

void ClientSession::CloseSlowConsumer(const char* why) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  if (metrics_) metrics_->slow_consumers_closed.Add();
  spdlog::info("connection {}: closed as slow consumer ({})", id(), why);
  conn_->Close(kClosePolicy, std::string("slow consumer: ") + why);
}

}  // namespace flare
