// Boost.Beast WebSocket server (server.ws_transport = "beast"): sessions
// pinned to one I/O thread each. One of the few translation units that
// include Beast (it is slow to compile).
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <vector>

#include "adapters/beast/beast_listeners.h"
#include "adapters/net/upgrade_quota.h"
#include "adapters/net/write_queue.h"
#include "adapters/net/write_scheduler.h"
#include "common/handshake_token.h"
#include "services/signaling/gateway/transport.h"

namespace flare {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

std::string TokenFromRequest(const http::request<http::string_body>& req) {
  auto auth = req[http::field::authorization];
  return HandshakeToken(std::string_view(req.target().data(), req.target().size()),
                        std::string_view(auth.data(), auth.size()));
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Read buffer capacity a connection keeps between frames, and the piece it
// reads at a time.
constexpr size_t kKeepReadBuffer = 4096;
constexpr size_t kReadChunk = 64;

class WsSession;
using WsScheduler = WriteScheduler<WsSession>;

class WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, uint64_t id, ConnectionHandler* handler, size_t max_frame,
            bool echo, const FrameBatching* batching, WsScheduler* scheduler, QuotaSlot upgrading)
      : ws_(std::move(socket)),
        upgrading_(std::move(upgrading)),
        id_(id),
        handler_(handler),
        echo_(echo),
        batching_(batching),
        scheduler_(scheduler),
        writes_(batching) {
    beast::error_code ec;
    auto ep = ws_.next_layer().remote_endpoint(ec);
    remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    ws_.read_message_max(max_frame);
    // Server frames are neither masked nor compressed, and with auto-fragment
    // off (each message goes out as one frame, however large the batch) Beast
    // needs no staging buffer for writes.
    ws_.auto_fragment(false);
    ws_.write_buffer_bytes(256);
  }

  void Start() {
    // The handshake must finish in time; the timer exists only until then,
    // so an established connection carries no timer.
    handshake_timer_ =
        std::make_unique<asio::steady_timer>(ws_.get_executor(), std::chrono::seconds(30));
    handshake_timer_->async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      beast::error_code ignored;
      self->ws_.next_layer().close(ignored);
    });
    http::async_read(
        ws_.next_layer(), buffer_, request_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHttpRequest(ec); });
  }

  uint64_t id() const override { return id_; }
  std::string RemoteAddress() const override { return remote_; }

  size_t Send(std::shared_ptr<const std::string> bytes, bool binary) override {
    auto queued = writes_.Push(std::move(bytes), binary);
    if (queued.start_writer) scheduler_->Schedule(shared_from_this());
    return queued.bytes;
  }

  size_t SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) override {
    auto queued = writes_.PushMany(frames, binary);
    if (queued.start_writer) scheduler_->Schedule(shared_from_this());
    return queued.bytes;
  }

  void Close(uint16_t code, std::string reason) override {
    if (writes_.RequestClose(code, std::move(reason))) scheduler_->Schedule(shared_from_this());
  }

 private:
  void OnHttpRequest(beast::error_code ec) {
    if (ec) return;
    std::string_view target(request_.target().data(), request_.target().size());
    if (PathOf(target) != "/ws" || !websocket::is_upgrade(request_)) {
      auto res = std::make_shared<http::response<http::string_body>>(http::status::not_found,
                                                                     request_.version());
      res->set(http::field::content_type, "text/plain");
      res->body() = "WebSocket endpoint is /ws\n";
      res->prepare_payload();
      http::async_write(ws_.next_layer(), *res,
                        [self = shared_from_this(), res](beast::error_code, size_t) {
                          beast::error_code ignored;
                          self->ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
                        });
      return;
    }

    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = websocket::stream_base::none();  // the gateway enforces idleness
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.async_accept(request_,
                     [self = shared_from_this()](beast::error_code ec) { self->OnAccepted(ec); });
  }

  void OnAccepted(beast::error_code ec) {
    handshake_timer_.reset();  // cancels it
    upgrading_.Release();
    if (ec) return;
    std::string token = TokenFromRequest(request_);
    // An idle connection should cost little: give back the handshake's memory.
    request_ = {};
    buffer_.clear();
    buffer_.shrink_to_fit();
    opened_ = true;
    bool start = writes_.Open();
    if (!echo_) handler_->OnOpen(shared_from_this(), std::move(token));
    if (start) WriteNext();
    Read();
  }

  // Reads a message in pieces that start small and double: an idle
  // connection then holds kReadChunk bytes instead of the 1.5 KiB a
  // whole-message read prepares.
  void Read() {
    auto space = buffer_.prepare(std::max(kReadChunk, buffer_.size()));
    ws_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (!ec && !self->ws_.is_message_done()) return self->Read();
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        spdlog::debug("connection {}: frame over the size limit, closing", id_);
      }
      Finish();
      return;
    }
    auto data = buffer_.cdata();
    std::string_view view(static_cast<const char*>(data.data()), data.size());
    if (echo_) {
      Send(std::make_shared<const std::string>(view), ws_.got_binary());
    } else {
      handler_->OnFrame(shared_from_this(), view, ws_.got_binary());
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kKeepReadBuffer) buffer_.shrink_to_fit();  // after a large frame
    Read();
  }

  friend class WriteScheduler<WsSession>;
  // Runs on the session's I/O thread; one write in flight at a time. Frames
  // queued meanwhile go out together as one batched message.
  void WriteNext() {
    WriteQueue::CloseRequest close;
    switch (writes_.TakeNext(in_flight_, in_flight_binary_, close)) {
      case WriteQueue::Next::kIdle:
        return;
      case WriteQueue::Next::kClose:
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(close.code), close.reason),
            [self = shared_from_this()](beast::error_code) { self->Finish(); });
        return;
      case WriteQueue::Next::kWrite:
        break;
    }
    BuildBuffers();
    ws_.binary(in_flight_binary_);
    ws_.async_write(buffers_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writes_.WriteCompleted();
      self->in_flight_.clear();
      if (self->envelope_.capacity() > 4096) {  // an idle connection keeps little
        self->envelope_ = {};
        self->buffers_ = {};
      }
      if (ec) {
        self->Finish();
        return;
      }
      self->WriteNext();
    });
  }

  // Builds buffers_ over in_flight_: the frames alone, or with the batching
  // envelope around them.
  void BuildBuffers() {
    buffers_.clear();
    if (in_flight_.size() == 1) {
      buffers_.push_back(asio::buffer(*in_flight_[0]));
      return;
    }
    // Envelope bytes live in one string reserved up front so the buffers
    // pointing into it stay valid.
    envelope_.clear();
    envelope_.reserve(in_flight_.size() * 16 + 16);
    std::vector<std::pair<size_t, size_t>> spans;  // offset, length per frame prefix
    for (size_t i = 0; i < in_flight_.size(); ++i) {
      size_t at = envelope_.size();
      batching_->before(envelope_, i, in_flight_[i]->size(), in_flight_binary_);
      spans.emplace_back(at, envelope_.size() - at);
    }
    size_t tail = envelope_.size();
    if (batching_->after) batching_->after(envelope_, in_flight_binary_);
    for (size_t i = 0; i < in_flight_.size(); ++i) {
      buffers_.push_back(asio::buffer(envelope_.data() + spans[i].first, spans[i].second));
      buffers_.push_back(asio::buffer(*in_flight_[i]));
    }
    if (envelope_.size() > tail) {
      buffers_.push_back(asio::buffer(envelope_.data() + tail, envelope_.size() - tail));
    }
  }

  void Finish() {
    if (finished_.exchange(true)) return;
    writes_.Finish();
    beast::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
    if (opened_ && !echo_) handler_->OnClose(shared_from_this());
  }

  // A plain socket below the WebSocket: beast::tcp_stream's timers would
  // cost ~0.5 KiB per connection for a timeout only the handshake needs.
  websocket::stream<tcp::socket> ws_;
  QuotaSlot upgrading_;  // the address's upgrade slot, until upgraded
  std::unique_ptr<asio::steady_timer> handshake_timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const uint64_t id_;
  ConnectionHandler* handler_;
  const bool echo_;
  const FrameBatching* batching_;
  WsScheduler* scheduler_;
  std::string remote_;
  // The write in flight (I/O thread only).
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  std::vector<asio::const_buffer> buffers_;
  std::string envelope_;
  bool in_flight_binary_ = true;
  std::atomic<bool> finished_{false};

  // Set on the I/O thread once the handshake is done; Finish runs there too.
  bool opened_ = false;
  WriteQueue writes_;
};

class BeastWsListener final : public Listener {
 public:
  BeastWsListener(const TransportOptions& options, ConnectionHandler* handler)
      : options_(options), handler_(handler) {}

  Result<uint16_t> Start(IoPool& pool) override {
    for (size_t i = 0; i < pool.size(); ++i) {
      schedulers_.push_back(std::make_unique<WsScheduler>(pool.context(i)));
    }
    return accept_.Start(
        pool, options_.bind_address, options_.ws_port,
        [this](tcp::socket socket, size_t thread) { Open(std::move(socket), thread); });
  }

  void StopAccepting() override { accept_.Close(); }

 private:
  void Open(tcp::socket socket, size_t thread) {
    uint64_t id = ++next_id_;
    auto slot = AdmitForUpgrade(upgrading_, socket, id, options_.max_upgrading_per_address);
    if (!slot) return;
    std::make_shared<WsSession>(std::move(socket), id, handler_, options_.max_frame_bytes,
                                options_.echo, &options_.batching, schedulers_[thread].get(),
                                std::move(*slot))
        ->Start();
  }

  TransportOptions options_;
  ConnectionHandler* handler_;
  std::vector<std::unique_ptr<WsScheduler>> schedulers_;
  AcceptLoop accept_;
  std::atomic<uint64_t> next_id_{RandomConnectionIdBase()};
  std::shared_ptr<ConnectionQuota> upgrading_ = std::make_shared<ConnectionQuota>();
};

}  // namespace

std::unique_ptr<Listener> MakeBeastWsListener(const TransportOptions& options,
                                              ConnectionHandler* handler) {
  return std::make_unique<BeastWsListener>(options, handler);
}

std::unique_ptr<Transport> MakeBeastTransport(const TransportOptions& options,
                                              ConnectionHandler* ws_handler,
                                              HttpHandler http_handler) {
  auto ws = ws_handler != nullptr ? MakeBeastWsListener(options, ws_handler) : nullptr;
  return std::make_unique<ListenerTransport>(
      options.io_threads, std::move(ws), MakeBeastHttpListener(options, std::move(http_handler)));
}

}  // namespace flare
