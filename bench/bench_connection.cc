#include "bench_connection.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace flare::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class Conn final : public BenchConnection, public std::enable_shared_from_this<Conn> {
 public:
  explicit Conn(asio::io_context& io) : ws_(io) { ws_.read_message_max(64 * 1024 * 1024); }

  void Start(const std::string& source_ip, const std::string& host, uint16_t port,
             const std::string& target, OnFrame on_frame, OnDone done) override {
    on_frame_ = std::move(on_frame);
    asio::post(ws_.get_executor(),
               [self = shared_from_this(), source_ip, host, port, target, done = std::move(done)] {
                 self->DoConnect(source_ip, host, port, target, done);
               });
  }

  void Send(std::shared_ptr<const std::string> bytes) override {
    bool start;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(bytes));
      start = !writing_ && open_;
      writing_ = writing_ || start;
    }
    if (start) asio::post(ws_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  }

  void After(int64_t ms, std::function<void()> fn) override {
    auto timer =
        std::make_shared<asio::steady_timer>(ws_.get_executor(), std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](beast::error_code ec) {
      if (!ec) fn();
    });
  }

  void Close() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().close(ec);
    });
  }

 private:
  void DoConnect(const std::string& source_ip, const std::string& host, uint16_t port,
                 const std::string& target, const OnDone& done) {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    tcp::endpoint remote(asio::ip::make_address(host, ec), port);
    if (ec) return done(false, "bad host " + host);
    sock.open(tcp::v4(), ec);
    if (!source_ip.empty() && !ec)
      sock.bind(tcp::endpoint(asio::ip::make_address(source_ip), 0), ec);
    if (ec) return done(false, "bind: " + ec.message());
    sock.async_connect(
        remote, [self = shared_from_this(), host, port, target, done](beast::error_code ec) {
          if (ec) return done(false, "connect: " + ec.message());
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
          self->ws_.binary(true);
          self->ws_.async_handshake(host + ":" + std::to_string(port), target,
                                    [self, done](beast::error_code ec) {
                                      if (ec) return done(false, "handshake: " + ec.message());
                                      bool start;
                                      {
                                        std::lock_guard lock(self->mu_);
                                        self->open_ = true;
                                        start = !self->queue_.empty() && !self->writing_;
                                        self->writing_ = self->writing_ || start;
                                      }
                                      done(true, "");
                                      if (start) self->WriteNext();
                                      self->Read();
                                    });
        });
  }

  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      auto data = self->buffer_.cdata();
      self->on_frame_(std::string_view(static_cast<const char*>(data.data()), data.size()));
      self->buffer_.consume(self->buffer_.size());
      self->Read();
    });
  }

  void WriteNext() {
    std::shared_ptr<const std::string> next;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        writing_ = false;
        return;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    ws_.async_write(asio::buffer(*next),
                    [self = shared_from_this(), next](beast::error_code ec, size_t) {
                      if (!ec) self->WriteNext();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  OnFrame on_frame_;
  std::mutex mu_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool open_ = false;
};

class Threads final : public IoThreads {
 public:
  explicit Threads(int n) {
    for (int i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    for (auto& c : contexts_) threads_.emplace_back([c = c.get()] { c->run(); });
  }
  ~Threads() override { Stop(); }

  std::shared_ptr<BenchConnection> NewConnection() override {
    return std::make_shared<Conn>(*contexts_[next_++ % contexts_.size()]);
  }

  void After(int64_t ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(*contexts_[0], std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](beast::error_code ec) {
      if (!ec) fn();
    });
  }

  void Stop() override {
    if (threads_.empty()) return;
    for (auto& c : contexts_) c->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace

std::unique_ptr<IoThreads> IoThreads::Create(int threads) {
  return std::make_unique<Threads>(std::max(1, threads));
}

}  // namespace flare::bench
