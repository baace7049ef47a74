// What the WebSocket and HTTP listeners share, without Beast: the I/O
// threads (one io_context each), binding a listening socket, and the
// Transport made of a WebSocket listener and an HTTP listener on one pool.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool() { Stop(); }
  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(size_t i) { return *contexts_[i]; }
  void Run();   // starts the threads
  void Stop();  // stops and joins them; pending handlers are dropped with the pool

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

// Binds and listens (reuse_address); the bound port, or why not.
Result<uint16_t> ListenOn(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address,
                          uint16_t port);

// A listening socket and its accept loop, on the pool's first thread: each
// accepted connection goes to `on_accept` there, with the index of the pool
// thread whose io_context the socket belongs to (round robin). An accept
// error other than the socket's close (out of descriptors, say) is retried
// after `retry_after`: the connection stays in the backlog, so accepting
// again at once fails at once again, and the loop would spin an I/O thread
// for as long as the descriptors stay short. The 1st, 2nd, 4th, 8th, ...
// failure is logged, so a long shortage does not flood the log either.
class AcceptLoop {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket, size_t thread)>;
  static constexpr std::chrono::milliseconds kRetryAfter{100};

  explicit AcceptLoop(std::chrono::milliseconds retry_after = kRetryAfter)
      : retry_after_(retry_after) {}
  // Binds and listens on the pool's first thread, then accepts; the bound
  // port, or why not. Once per loop.
  Result<uint16_t> Start(IoPool& pool, const std::string& address, uint16_t port,
                         OnAccept on_accept);
  // On the pool's first thread: no new connections.
  void Close();
  // Accepts that failed, for tests.
  uint64_t failures() const { return failures_.load(); }

 private:
  void Accept();
  void RetryLater(const boost::system::error_code& ec);

  const std::chrono::milliseconds retry_after_;
  IoPool* pool_ = nullptr;
  OnAccept on_accept_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::optional<boost::asio::steady_timer> backoff_;  // the first thread's
  size_t next_thread_ = 0;
  uint16_t port_ = 0;
  std::atomic<uint64_t> failures_{0};
};

// Connection ids (the gateway's session ids) count up from a random
// multiple of 2^32: a shared route table keys a user's routes by session
// id, so two processes' gateways must not hand out the same ids (counting
// from 1 everywhere, a user's first sessions on two gateways collide).
uint64_t RandomConnectionIdBase();

// One listening port and the sessions it accepts, on an IoPool.
class Listener {
 public:
  virtual ~Listener() = default;
  // Binds and starts accepting; the pool's threads are not running yet.
  virtual Result<uint16_t> Start(IoPool& pool) = 0;
  // On the pool's first thread: no new connections.
  virtual void StopAccepting() = 0;
};

// A Transport made of an optional WebSocket listener and an HTTP listener.
// The listeners (and the sessions they hold) go before the pool.
class ListenerTransport final : public Transport {
 public:
  ListenerTransport(int io_threads, std::unique_ptr<Listener> ws, std::unique_ptr<Listener> http)
      : pool_(io_threads), ws_(std::move(ws)), http_(std::move(http)) {}
  ~ListenerTransport() override { Stop(); }
  Status Start() override;
  uint16_t ws_port() const override { return ws_port_; }
  uint16_t http_port() const override { return http_port_; }
  void StopAccepting() override;
  void Stop() override { pool_.Stop(); }

 private:
  IoPool pool_;
  std::unique_ptr<Listener> ws_, http_;
  uint16_t ws_port_ = 0, http_port_ = 0;
};

}  // namespace flare
