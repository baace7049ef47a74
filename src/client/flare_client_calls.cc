// The FlareClient calls built on Call(): request frames in, typed results
// out; and the mapping of protocol errors to Status.
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "client/flare_client.h"
#include "services/signaling/gateway/frame_codec.h"

namespace flare {

std::string NewClientMsgId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (auto& c : id) c = kHex[rng() & 15];
  return id;
}

Status StatusFromReply(const pb::ServerFrame& reply) {
  if (!reply.has_error()) return Internal("unexpected reply frame");
  return StatusFor(reply.error());
}

Result<pb::GroupResult> FlareClient::Group(pb::GroupRequest request) {
  // A request resent after a reconnect must not apply twice.
  if (request.client_msg_id().empty() && !request.has_info()) {
    request.set_client_msg_id(NewClientMsgId());
  }
  pb::ClientFrame frame;
  *frame.mutable_group() = std::move(request);
  auto reply = Call(std::move(frame));
  if (!reply.ok()) return reply.status();
  if (!reply->has_group_result()) return StatusFromReply(*reply);
  return reply->group_result();
}

Result<pb::SendAck> FlareClient::MessageOp(pb::MessageOpRequest request) {
  if (request.client_msg_id().empty()) request.set_client_msg_id(NewClientMsgId());
  pb::ClientFrame frame;
  *frame.mutable_message_op() = std::move(request);
  auto reply = Call(std::move(frame));
  if (!reply.ok()) return reply.status();
  if (!reply->has_op_ack()) return StatusFromReply(*reply);
  return reply->op_ack();
}

Status FlareClient::MarkRead(const std::string& conversation_id, int64_t seq) {
  pb::ClientFrame frame;
  frame.mutable_mark_read()->set_conversation_id(conversation_id);
  frame.mutable_mark_read()->set_seq(seq);
  auto reply = Call(std::move(frame));
  if (!reply.ok()) return reply.status();
  if (!reply->has_ok()) return StatusFromReply(*reply);
  NoteRead(conversation_id, seq);
  return Status::Ok();
}

namespace {
// The Status of a request answered with `ok`.
Status OkReply(const Result<pb::ServerFrame>& reply) {
  if (!reply.ok()) return reply.status();
  return reply->has_ok() ? Status::Ok() : StatusFromReply(*reply);
}
}  // namespace

Status FlareClient::RegisterDevice(const std::string& platform, const std::string& token,
                                   const std::string& locale) {
  pb::ClientFrame frame;
  auto* r = frame.mutable_register_device();
  r->set_platform(platform);
  r->set_token(token);
  r->set_locale(locale);
  return OkReply(Call(std::move(frame)));
}

Status FlareClient::UnregisterDevice() {
  pb::ClientFrame frame;
  frame.mutable_unregister_device();
  return OkReply(Call(std::move(frame)));
}

Status FlareClient::MuteConversation(const std::string& conversation_id, int64_t until_ms) {
  pb::ClientFrame frame;
  frame.mutable_mute_conversation()->set_conversation_id(conversation_id);
  frame.mutable_mute_conversation()->set_until_ms(until_ms);
  return OkReply(Call(std::move(frame)));
}

Status FlareClient::SetDoNotDisturb(int start_minute, int end_minute, int utc_offset_minutes) {
  pb::ClientFrame frame;
  auto* r = frame.mutable_do_not_disturb();
  r->set_start_minute(start_minute);
  r->set_end_minute(end_minute);
  r->set_utc_offset_minutes(utc_offset_minutes);
  return OkReply(Call(std::move(frame)));
}

Status FlareClient::ClearDoNotDisturb() {
  pb::ClientFrame frame;
  frame.mutable_do_not_disturb()->set_clear(true);
  return OkReply(Call(std::move(frame)));
}

Result<pb::SendAck> FlareClient::Send(pb::SendRequest request) {
  if (request.client_msg_id().empty()) request.set_client_msg_id(NewClientMsgId());
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options().request_timeout_ms);
  for (;;) {
    pb::ClientFrame frame;
    *frame.mutable_send() = request;
    auto reply = Call(std::move(frame));
    if (!reply.ok()) return reply.status();
    if (reply->has_send_ack()) return reply->send_ack();
    Status error = StatusFromReply(*reply);
    if (error.code() != Code::kUnavailable || std::chrono::steady_clock::now() > deadline) {
      return error;
    }
    // A rate-limited send waits as long as the server said it must.
    int64_t wait_ms = std::max(options().backoff_min_ms, reply->error().retry_after_ms());
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

Result<pb::SendAck> FlareClient::SendText(const std::string& peer, const std::string& text) {
  pb::SendRequest request;
  request.set_peer_user_id(peer);
  request.set_type(pb::MESSAGE_TYPE_TEXT);
  request.mutable_content()->set_text(text);
  return Send(std::move(request));
}

Result<pb::SyncResult> FlareClient::Sync(const std::string& conv, int64_t after, int limit) {
  pb::ClientFrame frame;
  frame.mutable_sync()->set_conversation_id(conv);
  frame.mutable_sync()->set_after_seq(after);
  frame.mutable_sync()->set_limit(limit);
  auto reply = Call(std::move(frame));
  if (!reply.ok()) return reply.status();
  if (!reply->has_sync_result()) return StatusFromReply(*reply);
  return reply->sync_result();
}

Result<pb::SearchResult> FlareClient::Search(pb::SearchRequest request) {
  pb::ClientFrame frame;
  *frame.mutable_search() = std::move(request);
  auto reply = Call(std::move(frame));
  if (!reply.ok()) return reply.status();
  if (!reply->has_search_result()) return StatusFromReply(*reply);
  return reply->search_result();
}

Result<pb::BootstrapResult> FlareClient::Bootstrap() {
  pb::BootstrapResult all;
  std::string cursor;
  while (true) {
    pb::ClientFrame frame;
    frame.mutable_bootstrap()->set_cursor(cursor);
    auto reply = Call(std::move(frame));
    if (!reply.ok()) return reply.status();
    if (!reply->has_bootstrap_result()) return StatusFromReply(*reply);
    pb::BootstrapResult& page = *reply->mutable_bootstrap_result();
    for (auto& s : *page.mutable_conversations()) all.add_conversations()->Swap(&s);
    if (!page.has_more()) return all;
    // Cursors are conversation ids in ascending order; one that does not
    // advance would loop forever.
    if (page.next_cursor() <= cursor) {
      return Status(Code::kInternal, "bootstrap cursor did not advance");
    }
    cursor = page.next_cursor();
  }
}

}  // namespace flare
