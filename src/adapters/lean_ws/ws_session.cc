#include "adapters/lean_ws/ws_session.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace flare::lean_ws {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {
constexpr size_t kMaxRequestHead = 8 * 1024;  // the opening handshake's request
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
}  // namespace

Session::Session(tcp::socket socket, uint64_t id, ThreadState* thread, QuotaSlot upgrading)
    : socket_(std::move(socket)),
      thread_(thread),
      id_(id),
      upgrading_(upgrading ? std::make_unique<QuotaSlot>(std::move(upgrading)) : nullptr),
      writes_(&thread->options->batching) {
  error_code ec;
  remote_ = socket_.remote_endpoint(ec);
}

Session::~Session() = default;

std::string Session::RemoteAddress() const {
  if (remote_.port() == 0) return "?";
  return remote_.address().to_string() + ":" + std::to_string(remote_.port());
}

// Called on the accepting thread: the rest runs on the session's own.
void Session::Start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->handshake_ = std::make_unique<Handshake>();
    self->StartTimer(kHandshakeTimeout);  // the timer exists only until established
    self->OnReadable(error_code{});      // the request may be there already
  });
}

size_t Session::Send(std::shared_ptr<const std::string> bytes, bool binary) {
  auto queued = writes_.Push(std::move(bytes), binary);
  if (queued.start_writer) thread_->scheduler.Schedule(shared_from_this());
  return queued.bytes;
}

size_t Session::SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) {
  auto queued = writes_.PushMany(frames, binary);
  if (queued.start_writer) thread_->scheduler.Schedule(shared_from_this());
  return queued.bytes;
}

void Session::Close(uint16_t code, std::string reason) {
  if (finished_) return;
  if (writes_.RequestClose(code, std::move(reason))) {
    thread_->scheduler.Schedule(shared_from_this());
  }
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->OnCloseRequested(); });
}

// A peer that does not read would keep our close frame behind its queue
// (and the session, its memory and descriptor) for ever: from the moment a
// close is asked for, nothing it sends is delivered and it has
// kCloseTimeout to take the close frame and hang up.
void Session::OnCloseRequested() {
  if (finished_ || close_requested_) return;
  close_requested_ = true;
  StartTimer(kCloseTimeout);
}

void Session::StartTimer(std::chrono::milliseconds after) {
  timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), after);
  timer_->async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!ec && self) self->Finish();
  });
}

// Reading: wait until the socket is readable, then read into the thread's
// buffer. Nothing is allocated for a connection that waits.
//
// The reactor is edge-triggered and a wait is never tried at once: a wait
// started when bytes may already be there (a new connection, reading
// resumed after a pause, a read that stopped with the buffer full) could
// miss them. Those places read first; a wait follows only a
// read that found the socket drained, from the same handler, before the
// reactor can see the next edge.
void Session::ReadSoon() {
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->OnReadable(error_code{}); });
}

void Session::WaitReadable() {
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](error_code ec) { self->OnReadable(ec); });
}

void Session::OnReadable(error_code ec) {
  if (finished_) return;
  if (ec) return Finish();
  auto& buffer = thread_->read_buffer;
  error_code rec;
  size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), rec);
  if (rec == asio::error::would_block || rec == asio::error::try_again) return WaitReadable();
  if (rec) return Finish();  // end of stream or a reset
  if (!OnBytes(buffer.data(), n) || finished_) return;
  if (n < buffer.size()) return WaitReadable();  // drained
  ReadSoon();                                    // more may wait: after the others
}

bool Session::OnBytes(uint8_t* data, size_t n) {
  switch (state_) {
    case State::kHandshake:
      return OnHandshakeBytes(data, n);
    case State::kOpen:
    case State::kClosing:
      OnFrameBytes(data, n);
      return true;
    case State::kFailed:  // after a protocol error: skip until the peer hangs up
      return true;
    case State::kDone:
      return false;
  }
  return false;
}

bool Session::OnHandshakeBytes(const uint8_t* data, size_t n) {
  auto& request = handshake_->request;
  request.append(reinterpret_cast<const char*>(data), n);
  UpgradeRequest req;
  size_t consumed = 0;
  switch (ParseUpgradeRequest(request, kMaxRequestHead, req, consumed)) {
    case RequestParse::kNeedMore:
      return true;
    case RequestParse::kBad:
      Answer(BadRequestResponse("malformed request\n"), false, {});
      return false;
    case RequestParse::kTooLarge:
      Answer(BadRequestResponse("request head too large\n"), false, {});
      return false;
    case RequestParse::kDone:
      break;
  }
  request.erase(0, consumed);  // what follows the head: the first frames
  bool accepted = false;
  std::string token;
  std::string response = AnswerUpgrade(req, accepted, token);
  Answer(std::move(response), accepted, std::move(token));
  return false;  // reading resumes once the answer is written
}

void Session::Answer(std::string response, bool accepted, std::string token) {
  handshake_->response = std::move(response);
  asio::async_write(socket_, asio::buffer(handshake_->response),
                    [self = shared_from_this(), accepted, token = std::move(token)](
                        error_code ec, size_t) mutable {
                      if (ec || self->finished_) return self->Finish();
                      if (accepted) return self->Established(std::move(token));
                      self->Refused();
                    });
}

// After an error answer: the peer gets an end of stream and hangs up (or
// the timer ends it); hanging up at once could reset the connection over
// unread request bytes and lose the answer.
void Session::Refused() {
  handshake_.reset();
  state_ = State::kFailed;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  StartTimer(kCloseTimeout);
  OnReadable(error_code{});
}

void Session::Established(std::string token) {
  timer_.reset();  // cancels it
  std::string early = std::move(handshake_->request);
  handshake_.reset();  // an idle connection keeps nothing of the handshake
  upgrading_.reset();  // gives the slot back
  state_ = State::kOpen;
  opened_ = true;
  bool start = writes_.Open();
  if (!thread_->options->echo) thread_->handler->OnOpen(shared_from_this(), std::move(token));
  if (start) WriteNext();
  if (!early.empty()) OnFrameBytes(reinterpret_cast<uint8_t*>(early.data()), early.size());
  if (!finished_) OnReadable(error_code{});
}

}  // namespace flare::lean_ws
