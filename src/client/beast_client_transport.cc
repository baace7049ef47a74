// Boost.Beast WebSocket client for the client library and flare-bench.
#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <deque>
#include <thread>

#include "client/client_transport.h"

namespace flare {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class BeastClientTransport final : public ClientTransport {
 public:
  explicit BeastClientTransport(ClientTransportCallbacks callbacks)
      : callbacks_(std::move(callbacks)),
        guard_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}

  ~BeastClientTransport() override { Shutdown(); }

  void Connect(const std::string& host, uint16_t port, const std::string& target,
               std::function<void(Status)> done) override {
    CloseSocket();
    uint64_t gen = ++generation_;
    ws_ = std::make_shared<websocket::stream<beast::tcp_stream>>(io_);
    ws_->read_message_max(64 * 1024 * 1024);
    auto resolver = std::make_shared<tcp::resolver>(io_);
    resolver->async_resolve(
        host, std::to_string(port),
        [this, s = ws_, gen, host, port, target, done, resolver](
            beast::error_code ec, tcp::resolver::results_type results) {
          if (gen != generation_) return;
          if (ec) return done(IoError("resolve " + host + ": " + ec.message()));
          beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(10));
          beast::get_lowest_layer(*ws_).async_connect(results, [this, s, gen, host, port, target,
                                                                done](beast::error_code ec,
                                                                      tcp::endpoint) {
            if (gen != generation_) return;
            if (ec) return done(IoError("connect: " + ec.message()));
            beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true));
            std::string host_header = host + ":" + std::to_string(port);
            ws_->async_handshake(host_header, target, [this, s, gen, done](beast::error_code ec) {
              if (gen != generation_) return;
              if (ec) return done(IoError("websocket handshake: " + ec.message()));
              beast::get_lowest_layer(*ws_).expires_never();
              open_ = true;
              done(Status::Ok());
              Read(gen);
            });
          });
        });
  }

  void Send(std::shared_ptr<const std::string> bytes, bool binary) override {
    if (!open_) return;
    queue_.push_back({std::move(bytes), binary});
    if (!writing_) WriteNext(generation_);
  }

  void Close() override {
    ++generation_;
    CloseSocket();
  }

  void Post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  void After(int64_t ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](beast::error_code ec) {
      if (!ec) fn();
    });
  }

  void Shutdown() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      ++generation_;
      CloseSocket();
      io_.stop();
    });
    thread_.join();
  }

 private:
  void Read(uint64_t gen) {
    ws_->async_read(buffer_, [this, s = ws_, gen](beast::error_code ec, size_t) {
      if (gen != generation_) return;
      if (ec) return Lost(ec);
      auto data = buffer_.cdata();
      std::string_view view(static_cast<const char*>(data.data()), data.size());
      bool binary = ws_->got_binary();
      callbacks_.on_message(view, binary);
      buffer_.consume(buffer_.size());
      if (gen == generation_) Read(gen);
    });
  }

  void WriteNext(uint64_t gen) {
    if (queue_.empty() || !open_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto next = queue_.front();
    queue_.pop_front();
    ws_->binary(next.second);
    ws_->async_write(asio::buffer(*next.first),
                     [this, s = ws_, gen, next](beast::error_code ec, size_t) {
                       if (gen != generation_) return;
                       if (ec) return Lost(ec);
                       WriteNext(gen);
                     });
  }

  void Lost(beast::error_code ec) {
    uint16_t code = 0;
    std::string reason = ec.message();
    // The peer's close frame may have arrived even when the read then failed
    // on the torn-down socket.
    if (ws_->reason().code != websocket::close_code::none) {
      code = ws_->reason().code;
      reason = std::string(ws_->reason().reason.c_str());
    }
    ++generation_;
    CloseSocket();
    callbacks_.on_closed(code, reason);
  }

  void CloseSocket() {
    open_ = false;
    writing_ = false;
    queue_.clear();
    buffer_.clear();
    if (ws_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(*ws_).socket().close(ignored);
      ws_.reset();  // pending handlers hold their own reference until they run
    }
  }

  ClientTransportCallbacks callbacks_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::shared_ptr<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::pair<std::shared_ptr<const std::string>, bool>> queue_;
  bool open_ = false;
  bool writing_ = false;
  uint64_t generation_ = 0;
  std::thread thread_;  // last: starts after everything else is built
};

}  // namespace

std::unique_ptr<ClientTransport> MakeBeastClientTransport(ClientTransportCallbacks callbacks) {
  return std::make_unique<BeastClientTransport>(std::move(callbacks));
}

}  // namespace flare
