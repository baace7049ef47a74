#include "client/flare_client.h"

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "client/client_transport.h"
#include "services/signaling/gateway/frame_codec.h"

namespace flare {

namespace {
pb::ConversationType TypeOf(const std::string& conversation_id) {
  if (conversation_id.rfind("single:", 0) == 0) return pb::CONVERSATION_TYPE_SINGLE;
  if (conversation_id.rfind("channel:", 0) == 0) return pb::CONVERSATION_TYPE_CHANNEL;
  return pb::CONVERSATION_TYPE_GROUP;
}
}  // namespace

class FlareClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(ClientOptions options)
      : opt_(std::move(options)), backoff_ms_(opt_.backoff_min_ms) {}

  void Init() {
    std::weak_ptr<Impl> weak = weak_from_this();
    ClientTransportCallbacks callbacks{[weak](std::string_view data, bool binary) {
                                         if (auto self = weak.lock()) self->OnData(data, binary);
                                       },
                                       [weak](uint16_t code, const std::string& reason) {
                                         if (auto self = weak.lock()) self->OnClosed(code, reason);
                                       }};
    if (opt_.transport == ClientOptions::Transport::kQuic) {
      QuicClientOptions quic;
      quic.pinned_cert_file = opt_.quic_pinned_cert_file;
      quic.insecure = opt_.quic_insecure;
      transport_ = MakeQuicClientTransport(std::move(callbacks), std::move(quic));
    } else {
      transport_ = MakeBeastClientTransport(std::move(callbacks));
    }
  }

  ~Impl() { transport_->Shutdown(); }
  void Shutdown() { transport_->Shutdown(); }

  Status Connect() {
    auto ready = std::make_shared<std::promise<Status>>();
    auto result = ready->get_future();
    transport_->Post([this, ready] {
      first_connect_ = ready;
      StartConnect();
    });
    if (result.wait_for(std::chrono::milliseconds(opt_.request_timeout_ms)) !=
        std::future_status::ready) {
      return Unavailable("connect timed out");
    }
    return result.get();
  }

  void Close() {
    std::promise<void> done;
    transport_->Post([this, &done] {
      closing_ = true;
      transport_->Close();
      FailPending(Unavailable("client closed"), true);
      done.set_value();
    });
    done.get_future().wait();
  }

  Result<pb::ServerFrame> Call(pb::ClientFrame frame) {
    std::string rid = "r" + std::to_string(++next_rid_);
    frame.set_request_id(rid);
    auto reply = std::make_shared<std::promise<Result<pb::ServerFrame>>>();
    auto future = reply->get_future();
    transport_->Post([this, rid, frame = std::move(frame), reply]() mutable {
      StartRequest(
          rid, std::move(frame),
          [reply](Result<pb::ServerFrame> r) { reply->set_value(std::move(r)); },
          /*resend_on_reconnect=*/true);
    });
    if (future.wait_for(std::chrono::milliseconds(opt_.request_timeout_ms)) ==
        std::future_status::ready) {
      return future.get();
    }
    transport_->Post([this, rid] { pending_.erase(rid); });
    return Unavailable("request timed out");
  }

  // The handlers are read on the I/O thread, so they are replaced there.
  void SetMessageHandler(MessageHandler m) {
    OnIoThread([&] { on_message_ = std::move(m); });
  }
  void SetFrameHandler(FrameHandler f) {
    OnIoThread([&] { on_frame_ = std::move(f); });
  }

  int64_t DeliveredSeq(const std::string& conv) const {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conv);
    return it == convs_.end() ? 0 : it->second.delivered;
  }
  int64_t ReadSeq(const std::string& conv) const {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conv);
    return it == convs_.end() ? 0 : it->second.read;
  }
  void MoveRead(const std::string& conv, int64_t seq) {
    std::lock_guard lock(mu_);
    Conv& c = convs_[conv];
    c.read = std::max(c.read, seq);
  }

  // Runs `fn` on the I/O thread and waits for it.
  template <typename Fn>
  void OnIoThread(Fn fn) {
    std::promise<void> done;
    transport_->Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  void Disconnect() {
    std::promise<void> done;
    transport_->Post([this, &done] {
      closing_ = true;
      transport_->Close();
      ConnectionLost("disconnected");
      done.set_value();
    });
    done.get_future().wait();
  }

  Status Reconnect() {
    auto ready = std::make_shared<std::promise<Status>>();
    auto result = ready->get_future();
    transport_->Post([this, ready] {
      closing_ = false;
      first_connect_ = ready;
      backoff_ms_ = opt_.backoff_min_ms;
      StartConnect();
    });
    if (result.wait_for(std::chrono::milliseconds(opt_.request_timeout_ms)) !=
        std::future_status::ready) {
      return Unavailable("reconnect timed out");
    }
    return result.get();
  }

  bool authenticated() const { return authenticated_; }
  int reconnects() const { return reconnects_; }
  const ClientOptions& options() const { return opt_; }

 private:
  struct Pending {
    pb::ClientFrame frame;
    std::function<void(Result<pb::ServerFrame>)> done;
    bool resend_on_reconnect;
  };
  struct Conv {
    int64_t delivered = 0;
    int64_t read = 0;
    std::map<int64_t, pb::Message> ahead;  // received beyond a gap
    bool syncing = false;
    bool resync = false;  // asked to sync while a sync was in flight
  };

  Encoding encoding() const { return opt_.json ? Encoding::kJson : Encoding::kBinary; }

  void SendFrame(const pb::ClientFrame& frame) {
    transport_->Send(std::make_shared<const std::string>(EncodeFrame(frame, encoding())),
                     !opt_.json);
  }

  // The gateway to (re)connect to: `port`, then each failover port in turn.
  uint16_t CurrentPort() const {
    if (endpoint_ == 0 || opt_.failover_ports.empty()) return opt_.port;
    return opt_.failover_ports[(endpoint_ - 1) % opt_.failover_ports.size()];
  }

  void StartConnect() {
    transport_->Connect(opt_.host, CurrentPort(), "/ws", [this](Status st) {
      if (!st.ok()) return ConnectionLost(st.message());
      pb::ClientFrame auth;
      auth.set_request_id("auth");
      auth.mutable_auth()->set_token(opt_.token);
      SendFrame(auth);
    });
  }

  void ConnectionLost(const std::string& why) {
    bool was_ready = ready_;
    ready_ = false;
    authenticated_ = false;
    FailPending(Unavailable("connection lost: " + why), false);
    {
      std::lock_guard lock(mu_);
      for (auto& [id, c] : convs_) c.syncing = false;
    }
    if (closing_) return;
    if (was_ready) ++reconnects_;
    if (!opt_.failover_ports.empty())
      endpoint_ = (endpoint_ + 1) % (opt_.failover_ports.size() + 1);
    int64_t delay = backoff_ms_;
    backoff_ms_ = std::min(backoff_ms_ * 2, opt_.backoff_max_ms);
    transport_->After(delay, [this] {
      if (!closing_) StartConnect();
    });
  }

  void OnClosed(uint16_t code, const std::string& reason) { ConnectionLost(reason); }

  // Fails requests that cannot survive a reconnect (or all, when closing).
  void FailPending(const Status& why, bool all) {
    std::vector<std::function<void(Result<pb::ServerFrame>)>> failed;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || !it->second.resend_on_reconnect) {
        failed.push_back(std::move(it->second.done));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& done : failed) done(why);
  }

  void StartRequest(const std::string& rid, pb::ClientFrame frame,
                    std::function<void(Result<pb::ServerFrame>)> done, bool resend) {
    if (closing_) return done(Unavailable("client closed"));
    if (ready_) SendFrame(frame);
    pending_[rid] = Pending{std::move(frame), std::move(done), resend};
  }

  void OnData(std::string_view data, bool binary) {
    auto frame = DecodeServerFrame(data, binary ? Encoding::kBinary : Encoding::kJson);
    if (!frame.ok()) return;
    if (frame->batch_size() > 0) {
      for (auto& inner : *frame->mutable_batch()) OnFrame(std::move(inner));
      return;
    }
    OnFrame(std::move(frame).value());
  }

  void OnFrame(pb::ServerFrame frame_value) {
    pb::ServerFrame* frame = &frame_value;
    if (frame->request_id() == "auth") return OnAuthReply(*frame);
    if (frame->has_push()) return OnPush(frame->push());
    if (frame->request_id().empty()) OnNotice(*frame);
    auto it = frame->request_id().empty() ? pending_.end() : pending_.find(frame->request_id());
    if (it == pending_.end()) {
      if (on_frame_) on_frame_(*frame);
      return;
    }
    if (frame->has_send_ack() && it->second.frame.has_send()) {
      AcceptOwn(it->second.frame.send(), frame->send_ack());
    }
    // This device's own events are not pushed back to it: fetch them.
    if (frame->has_op_ack()) SyncIfBehind(frame->op_ack().conversation_id(), frame->op_ack().seq());
    if (frame->has_group_result() && frame->group_result().seq() > 0) {
      SyncIfBehind(frame->group_result().info().conversation_id(), frame->group_result().seq());
    }
    auto done = std::move(it->second.done);
    pending_.erase(it);
    done(std::move(*frame));
  }

  void OnAuthReply(const pb::ServerFrame& frame) {
    if (!frame.has_auth_result() && frame.error().code() == pb::ERROR_CODE_UNAVAILABLE) {
      // Refused for now (the server could not check the login, or is
      // busy): come back after the backoff, as after a lost connection.
      transport_->Close();
      return ConnectionLost("login refused for now: " + frame.error().message());
    }
    if (!frame.has_auth_result()) {
      // A rejected token will not get better by retrying.
      closing_ = true;
      transport_->Close();
      Status st = Unauthenticated(frame.error().message());
      FailPending(st, true);
      if (first_connect_) first_connect_->set_value(st), first_connect_.reset();
      return;
    }
    ready_ = true;
    authenticated_ = true;
    user_id_ = frame.auth_result().user_id();
    device_ = frame.auth_result().device();
    backoff_ms_ = opt_.backoff_min_ms;
    for (auto& [rid, p] : pending_) SendFrame(p.frame);
    if (first_connect_) first_connect_->set_value(Status::Ok()), first_connect_.reset();
    CatchUp();
  }

  void SyncIfBehind(const std::string& conv_id, int64_t seq) {
    if (seq > DeliveredSeq(conv_id)) StartSync(conv_id);
  }

  void OnNotice(const pb::ServerFrame& frame) {
    if (frame.has_advanced()) {  // a large group moved: pull
      SyncIfBehind(frame.advanced().conversation_id(), frame.advanced().max_seq());
    } else if (frame.has_read_notice() && frame.read_notice().user_id() == user_id_) {
      MoveRead(frame.read_notice().conversation_id(), frame.read_notice().seq());
    } else if (frame.has_catch_up()) {  // pushes may have been lost
      CatchUp();
    } else if (frame.has_kicked()) {
      closing_ = true;  // displaced by another login: do not come back by itself
    }
  }

  // After every (re)connect: learn every conversation's max seq and sync
  // the ones this client is behind in, one bootstrap page after another.
  void CatchUp(const std::string& cursor = "") {
    pb::ClientFrame frame;
    frame.mutable_bootstrap()->set_cursor(cursor);
    std::string rid = "b" + std::to_string(++next_rid_);
    frame.set_request_id(rid);
    StartRequest(
        rid, std::move(frame),
        [this, cursor](Result<pb::ServerFrame> r) {
          if (!r.ok() || !r->has_bootstrap_result()) return;
          const pb::BootstrapResult& page = r->bootstrap_result();
          for (const auto& s : page.conversations()) {
            bool behind;
            {
              std::lock_guard lock(mu_);
              auto [it, fresh] = convs_.try_emplace(s.conversation_id());
              if (fresh && !opt_.fetch_history) it->second.delivered = s.max_seq();
              it->second.read = std::max(it->second.read, s.read_seq());
              behind = s.max_seq() > it->second.delivered;
            }
            if (behind) StartSync(s.conversation_id());
          }
          if (page.has_more() && page.next_cursor() > cursor) CatchUp(page.next_cursor());
        },
        false);
  }

  void StartSync(const std::string& conv_id) {
    int64_t after;
    {
      std::lock_guard lock(mu_);
      Conv& c = convs_[conv_id];
      if (c.syncing) {
        c.resync = true;  // the sync in flight may have been read before what we now expect
        return;
      }
      c.syncing = true;
      c.resync = false;
      after = c.delivered;
    }
    pb::ClientFrame frame;
    frame.mutable_sync()->set_conversation_id(conv_id);
    frame.mutable_sync()->set_after_seq(after);
    frame.mutable_sync()->set_limit(opt_.sync_page);
    std::string rid = "s" + std::to_string(++next_rid_);
    frame.set_request_id(rid);
    StartRequest(
        rid, std::move(frame),
        [this, conv_id](Result<pb::ServerFrame> r) {
          bool again = false;
          {
            std::lock_guard lock(mu_);
            Conv& c = convs_[conv_id];
            c.syncing = false;
            again = c.resync;
          }
          if (r.ok() && r->has_sync_result()) {
            SkipInvisible(conv_id, r->sync_result().visible_from_seq());
            for (const auto& m : r->sync_result().messages()) again |= Accept(m);
            again |= r->sync_result().has_more();
            again |= r->sync_result().max_seq() > DeliveredSeq(conv_id);
            Ack(conv_id);
          }
          if (again) StartSync(conv_id);
        },
        false);
  }

  void OnPush(const pb::Push& push) {
    std::set<std::string> touched, gaps;
    for (const auto& m : push.messages()) {
      if (Accept(m)) gaps.insert(m.conversation_id());
      touched.insert(m.conversation_id());
    }
    for (const auto& conv : touched) Ack(conv);
    for (const auto& conv : gaps) StartSync(conv);
  }

  // A member who joined later cannot see what came before: treat it as done.
  void SkipInvisible(const std::string& conv_id, int64_t visible_from) {
    std::lock_guard lock(mu_);
    Conv& c = convs_[conv_id];
    if (visible_from - 1 <= c.delivered) return;
    c.delivered = visible_from - 1;
    while (!c.ahead.empty() && c.ahead.begin()->first <= c.delivered)
      c.ahead.erase(c.ahead.begin());
  }

  // Takes a message from a push or a sync; delivers every message that is
  // now contiguous. Returns true when a gap remains (a sync is needed).
  bool Accept(const pb::Message& m) {
    std::vector<pb::Message> ready;
    bool gap;
    {
      std::lock_guard lock(mu_);
      auto [it, fresh] = convs_.try_emplace(m.conversation_id());
      Conv& c = it->second;
      if (fresh && !opt_.fetch_history) c.delivered = m.seq() - 1;
      if (m.seq() <= c.delivered) return false;  // duplicate
      c.ahead.emplace(m.seq(), m);
      while (!c.ahead.empty() && c.ahead.begin()->first == c.delivered + 1) {
        ready.push_back(std::move(c.ahead.begin()->second));
        c.ahead.erase(c.ahead.begin());
        ++c.delivered;
      }
      gap = !c.ahead.empty();
    }
    for (const auto& msg : ready) {
      if (on_message_) on_message_(msg);
    }
    return gap;
  }

  // The application sees its own sent messages in the conversation stream
  // too, and this device need not sync them back.
  void AcceptOwn(const pb::SendRequest& sent, const pb::SendAck& ack) {
    pb::Message m;
    m.set_server_msg_id(ack.server_msg_id());
    m.set_client_msg_id(ack.client_msg_id());
    m.set_conversation_id(ack.conversation_id());
    m.set_conversation_type(TypeOf(ack.conversation_id()));
    m.set_seq(ack.seq());
    m.set_type(sent.type() == pb::MESSAGE_TYPE_UNSPECIFIED ? pb::MESSAGE_TYPE_TEXT : sent.type());
    *m.mutable_content() = sent.content();
    *m.mutable_attachments() = sent.attachments();
    if (sent.has_quote()) *m.mutable_quote() = sent.quote();
    *m.mutable_attributes() = sent.attributes();
    *m.mutable_mentions() = sent.mentions();
    m.set_client_time_ms(sent.client_time_ms());
    m.set_server_time_ms(ack.server_time_ms());
    m.set_sender(user_id_);
    m.set_sender_device(device_);
    if (Accept(m)) StartSync(m.conversation_id());
  }

  void Ack(const std::string& conv_id) {
    if (!opt_.auto_ack || !ready_) return;
    int64_t seq = DeliveredSeq(conv_id);
    if (seq <= 0) return;
    pb::ClientFrame frame;
    frame.mutable_push_ack()->set_conversation_id(conv_id);
    frame.mutable_push_ack()->set_seq(seq);
    SendFrame(frame);
  }

  ClientOptions opt_;
  std::unique_ptr<ClientTransport> transport_;
  MessageHandler on_message_;
  FrameHandler on_frame_;
  std::atomic<uint64_t> next_rid_{0};
  std::atomic<bool> authenticated_{false};
  std::atomic<int> reconnects_{0};
  size_t endpoint_ = 0;  // I/O thread only: 0 = opt_.port, i = failover_ports[i - 1]

  // I/O-thread state.
  std::map<std::string, Pending> pending_;
  std::shared_ptr<std::promise<Status>> first_connect_;
  bool ready_ = false;
  bool closing_ = false;
  std::string user_id_, device_;  // from the auth result
  int64_t backoff_ms_;

  mutable std::mutex mu_;  // conversation state, also read by other threads
  std::map<std::string, Conv> convs_;
};

FlareClient::FlareClient(ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->Init();
}

FlareClient::~FlareClient() {
  // Stop the I/O thread first so no callback can hold the last reference.
  impl_->Shutdown();
}

void FlareClient::OnMessage(MessageHandler handler) {
  impl_->SetMessageHandler(std::move(handler));
}
void FlareClient::OnFrame(FrameHandler handler) { impl_->SetFrameHandler(std::move(handler)); }
Status FlareClient::Connect() { return impl_->Connect(); }
void FlareClient::Close() { impl_->Close(); }
Result<pb::ServerFrame> FlareClient::Call(pb::ClientFrame frame) {
  return impl_->Call(std::move(frame));
}
int64_t FlareClient::DeliveredSeq(const std::string& c) const { return impl_->DeliveredSeq(c); }
int64_t FlareClient::ReadSeq(const std::string& c) const { return impl_->ReadSeq(c); }
void FlareClient::Disconnect() { impl_->Disconnect(); }
Status FlareClient::Reconnect() { return impl_->Reconnect(); }
bool FlareClient::authenticated() const { return impl_->authenticated(); }
int FlareClient::reconnects() const { return impl_->reconnects(); }
const ClientOptions& FlareClient::options() const { return impl_->options(); }
void FlareClient::NoteRead(const std::string& c, int64_t seq) { impl_->MoveRead(c, seq); }

}  // namespace flare
