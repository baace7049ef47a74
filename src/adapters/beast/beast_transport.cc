// Boost.Beast implementation of the gateway transport: one io_context and
// thread per I/O thread, WebSocket sessions pinned to one of them, and a
// small HTTP server for health and metrics. This is one of the few
// translation units that include Beast (it is slow to compile).
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "adapters/beast/write_queue.h"
#include "services/signaling/gateway/transport.h"

namespace flare {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Connection ids (the gateway's session ids) count up from a random
// multiple of 2^32: a shared route table keys a user's routes by session
// id, so two processes' gateways must not hand out the same ids (counting
// from 1 everywhere, a user's first sessions on two gateways collide).
uint64_t RandomIdBase() {
  std::random_device device;
  return static_cast<uint64_t>(device()) << 32;
}

std::string TokenFromRequest(const http::request<http::string_body>& req) {
  std::string_view target(req.target().data(), req.target().size());
  if (auto q = target.find('?'); q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      if (pair.substr(0, 6) == "token=") return std::string(pair.substr(6));
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  auto auth = req[http::field::authorization];
  std::string_view header(auth.data(), auth.size());
  if (header.substr(0, 7) == "Bearer ") return std::string(header.substr(7));
  return {};
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Read buffer capacity a connection keeps between frames, and the piece it
// reads at a time.
constexpr size_t kKeepReadBuffer = 4096;
constexpr size_t kReadChunk = 64;

class WsSession;

// Starts writes for the sessions of one I/O thread. Senders on other threads
// (the writer's fan-out) queue a session here; the first one posts a single
// flush to the I/O thread, which then starts every queued session's write.
// One cross-thread wake-up per batch of deliveries instead of one per
// recipient.
class WriteScheduler {
 public:
  explicit WriteScheduler(asio::io_context& io) : io_(io) {}
  void Schedule(std::shared_ptr<WsSession> session);

 private:
  void Flush();
  asio::io_context& io_;
  std::mutex mu_;
  std::vector<std::shared_ptr<WsSession>> ready_;
  std::vector<std::shared_ptr<WsSession>> flushing_;  // I/O thread only
};

class WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, uint64_t id, ConnectionHandler* handler, size_t max_frame,
            bool echo, const FrameBatching* batching, WriteScheduler* scheduler)
      : ws_(std::move(socket)),
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

  friend class WriteScheduler;
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
  std::unique_ptr<asio::steady_timer> handshake_timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const uint64_t id_;
  ConnectionHandler* handler_;
  const bool echo_;
  const FrameBatching* batching_;
  WriteScheduler* scheduler_;
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

void WriteScheduler::Schedule(std::shared_ptr<WsSession> session) {
  bool first;
  {
    std::lock_guard lock(mu_);
    first = ready_.empty();
    ready_.push_back(std::move(session));
  }
  if (first) asio::post(io_, [this] { Flush(); });
}

void WriteScheduler::Flush() {
  {
    std::lock_guard lock(mu_);
    flushing_.swap(ready_);
  }
  for (auto& session : flushing_) session->WriteNext();
  flushing_.clear();
}

class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpHandler& handler, const TransportOptions& options)
      : stream_(std::move(socket)), handler_(handler), options_(options) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_http_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(options_.http_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) return self->Dispatch();
                       if (ec == http::error::body_limit) self->RefuseTooLarge();
                     });
  }

 private:
  // Hands the request to the handler; its answer may come from any thread
  // and is written on this connection's own executor.
  void Dispatch() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpServerRequest request;
    request.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    request.path = std::string(PathOf(target));
    if (auto q = target.find('?'); q != std::string_view::npos)
      request.query = std::string(target.substr(q + 1));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.remote_address = PeerAddress(request.from_loopback);
    parser_.reset();
    auto executor = stream_.get_executor();
    handler_(std::move(request),
             [self = shared_from_this(), executor](HttpServerResponse response) {
               asio::post(executor, [self, response = std::move(response)]() mutable {
                 self->Write(std::move(response));
               });
             });
  }

  void RefuseTooLarge() {
    keep_alive_ = false;  // the rest of the body is still on the wire
    version_ = 11;
    Write({413, "application/json",
           "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"the request body is "
           "larger than " +
               std::to_string(options_.max_http_body_bytes) + " bytes\",\"request_id\":\"\"}}\n"});
  }

  void Write(HttpServerResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_);
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(options_.http_timeout_ms));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (!ec && res->keep_alive()) return self->Read();
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  std::string PeerAddress(bool& loopback) {
    beast::error_code ec;
    auto address = stream_.socket().remote_endpoint(ec).address();
    loopback = false;
    if (ec) return {};
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    loopback = address.is_loopback();
    return address.to_string();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  const TransportOptions& options_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

class BeastTransport final : public Transport {
 public:
  BeastTransport(const TransportOptions& options, ConnectionHandler* ws_handler,
                 HttpHandler http_handler)
      : options_(options), ws_handler_(ws_handler), http_handler_(std::move(http_handler)) {
    int n = std::max(1, options.io_threads);
    for (int i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
      schedulers_.push_back(std::make_unique<WriteScheduler>(*contexts_.back()));
    }
  }

  ~BeastTransport() override { Stop(); }

  Status Start() override {
    if (ws_handler_ != nullptr) {  // a role process without a gateway serves HTTP only
      auto ws = Listen(ws_acceptor_, options_.ws_port);
      if (!ws.ok()) return ws.status();
      ws_port_ = *ws;
    }
    auto http = Listen(http_acceptor_, options_.http_port);
    if (!http.ok()) return http.status();
    http_port_ = *http;
    if (ws_handler_ != nullptr) AcceptWs();
    AcceptHttp();
    for (auto& ctx : contexts_) {
      threads_.emplace_back([ctx = ctx.get()] {
        pthread_setname_np(pthread_self(), "flare-io");
        ctx->run();
      });
    }
    return Status::Ok();
  }

  uint16_t ws_port() const override { return ws_port_; }
  uint16_t http_port() const override { return http_port_; }

  void StopAccepting() override {
    asio::post(*contexts_[0], [this] {
      beast::error_code ignored;
      if (ws_acceptor_) ws_acceptor_->close(ignored);
      if (http_acceptor_) http_acceptor_->close(ignored);
    });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    for (auto& ctx : contexts_) ctx->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Result<uint16_t> Listen(std::optional<tcp::acceptor>& acceptor, uint16_t port) {
    beast::error_code ec;
    auto address = asio::ip::make_address(options_.bind_address, ec);
    if (ec)
      return InvalidArgument("server.bind_address '" + options_.bind_address + "' is invalid");
    acceptor.emplace(*contexts_[0]);
    tcp::endpoint endpoint(address, port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return IoError("cannot listen on " + options_.bind_address + ":" + std::to_string(port) +
                     ": " + ec.message());
    }
    return acceptor->local_endpoint().port();
  }

  asio::io_context& NextContext() { return *contexts_[next_context_++ % contexts_.size()]; }

  void AcceptWs() {
    size_t index = next_context_++ % contexts_.size();
    ws_acceptor_->async_accept(
        *contexts_[index], [this, index](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted) return;
          if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            std::make_shared<WsSession>(std::move(socket), ++next_id_, ws_handler_,
                                        options_.max_frame_bytes, options_.echo, &options_.batching,
                                        schedulers_[index].get())
                ->Start();
          } else {
            spdlog::warn("accept failed: {}", ec.message());  // e.g. out of descriptors
          }
          AcceptWs();
        });
  }

  void AcceptHttp() {
    http_acceptor_->async_accept(NextContext(), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<HttpSession>(std::move(socket), http_handler_, options_)->Read();
      AcceptHttp();
    });
  }

  TransportOptions options_;
  ConnectionHandler* ws_handler_;
  HttpHandler http_handler_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::unique_ptr<WriteScheduler>> schedulers_;
  std::vector<std::thread> threads_;
  std::optional<tcp::acceptor> ws_acceptor_, http_acceptor_;
  uint16_t ws_port_ = 0, http_port_ = 0;
  size_t next_context_ = 0;
  std::atomic<uint64_t> next_id_{RandomIdBase()};
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<Transport> MakeBeastTransport(const TransportOptions& options,
                                              ConnectionHandler* ws_handler,
                                              HttpHandler http_handler) {
  return std::make_unique<BeastTransport>(options, ws_handler, std::move(http_handler));
}

}  // namespace flare
