#include "adapters/net/io_pool.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <random>

namespace flare {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

IoPool::IoPool(int threads) {
  int n = std::max(1, threads);
  for (int i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
}

void IoPool::Run() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([ctx = ctx.get()] {
      pthread_setname_np(pthread_self(), "flare-io");
      ctx->run();
    });
  }
}

void IoPool::Stop() {
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

uint64_t RandomConnectionIdBase() {
  std::random_device device;
  return static_cast<uint64_t>(device()) << 32;
}

Result<uint16_t> ListenOn(tcp::acceptor& acceptor, const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return InvalidArgument("server.bind_address '" + address + "' is invalid");
  tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IoError("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                   ec.message());
  }
  return acceptor.local_endpoint().port();
}

Result<uint16_t> AcceptLoop::Start(IoPool& pool, const std::string& address, uint16_t port,
                                   OnAccept on_accept) {
  pool_ = &pool;
  on_accept_ = std::move(on_accept);
  acceptor_.emplace(pool.context(0));
  auto bound = ListenOn(*acceptor_, address, port);
  if (!bound.ok()) return bound;
  port_ = *bound;
  Accept();
  return bound;
}

void AcceptLoop::Close() {
  boost::system::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (backoff_) backoff_->cancel();
}

void AcceptLoop::Accept() {
  size_t thread = next_thread_++ % pool_->size();
  acceptor_->async_accept(pool_->context(thread),
                          [this, thread](boost::system::error_code ec, tcp::socket socket) {
                            // Closed: a connection accepted meanwhile is dropped.
                            if (ec == asio::error::operation_aborted || !acceptor_->is_open())
                              return;
                            if (ec) return RetryLater(ec);
                            on_accept_(std::move(socket), thread);
                            Accept();
                          });
}

void AcceptLoop::RetryLater(const boost::system::error_code& ec) {
  uint64_t failures = ++failures_;
  if ((failures & (failures - 1)) == 0) {  // a power of two
    spdlog::warn("accept on port {} failed: {} ({} failures so far); retrying every {} ms", port_,
                 ec.message(), failures, retry_after_.count());
  }
  backoff_.emplace(pool_->context(0), retry_after_);
  backoff_->async_wait([this](boost::system::error_code ec) {
    if (!ec && acceptor_->is_open()) Accept();
  });
}

Status ListenerTransport::Start() {
  if (ws_) {  // a role process without a gateway serves HTTP only
    auto ws = ws_->Start(pool_);
    if (!ws.ok()) return ws.status();
    ws_port_ = *ws;
  }
  auto http = http_->Start(pool_);
  if (!http.ok()) return http.status();
  http_port_ = *http;
  pool_.Run();
  return Status::Ok();
}

void ListenerTransport::StopAccepting() {
  asio::post(pool_.context(0), [this] {
    if (ws_) ws_->StopAccepting();
    http_->StopAccepting();
  });
}

}  // namespace flare
