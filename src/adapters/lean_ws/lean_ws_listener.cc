// Accepts WebSocket connections and pins each to one I/O thread, round
// robin; the sessions of a thread share its read buffer and write scheduler.
#include <spdlog/spdlog.h>

#include <optional>

#include "adapters/lean_ws/lean_ws.h"
#include "adapters/lean_ws/ws_session.h"
#include "adapters/net/upgrade_quota.h"

namespace flare {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class LeanWsListener final : public Listener {
 public:
  LeanWsListener(const TransportOptions& options, ConnectionHandler* handler)
      : options_(options), handler_(handler) {}

  Result<uint16_t> Start(IoPool& pool) override {
    pool_ = &pool;
    for (size_t i = 0; i < pool.size(); ++i) {
      threads_.push_back(
          std::make_unique<lean_ws::ThreadState>(pool.context(i), &options_, handler_));
    }
    acceptor_.emplace(pool.context(0));
    auto port = ListenOn(*acceptor_, options_.bind_address, options_.ws_port);
    if (port.ok()) Accept();
    return port;
  }

  void StopAccepting() override {
    boost::system::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  }

 private:
  void Accept() {
    size_t index = next_thread_++ % threads_.size();
    acceptor_->async_accept(pool_->context(index), [this, index](boost::system::error_code ec,
                                                                 tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        uint64_t id = ++next_id_;
        auto slot = TakeUpgradeSlot(upgrading_, socket, id, options_.max_upgrading_per_address);
        if (!slot) {
          socket.close(ec);  // its address has too many upgrades under way
          return Accept();
        }
        socket.set_option(tcp::no_delay(true), ec);
        socket.non_blocking(true, ec);  // reads happen when the socket is readable
        std::make_shared<lean_ws::Session>(std::move(socket), id, threads_[index].get(),
                                           std::move(*slot))
            ->Start();
      } else {
        // Out of descriptors, say: the connection stays in the backlog
        // and the next accept would fail at once. Try again a little
        // later instead of spinning.
        spdlog::warn("accept failed: {}; retrying in {} ms", ec.message(), kAcceptRetry.count());
        backoff_.emplace(pool_->context(0), kAcceptRetry);
        backoff_->async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec && acceptor_ && acceptor_->is_open()) Accept();
        });
        return;
      }
      Accept();
    });
  }

  static constexpr std::chrono::milliseconds kAcceptRetry{100};
  std::optional<asio::steady_timer> backoff_;  // thread 0's

  TransportOptions options_;
  ConnectionHandler* handler_;
  IoPool* pool_ = nullptr;
  std::vector<std::unique_ptr<lean_ws::ThreadState>> threads_;
  std::optional<tcp::acceptor> acceptor_;
  size_t next_thread_ = 0;
  std::atomic<uint64_t> next_id_{RandomConnectionIdBase()};
  std::shared_ptr<ConnectionQuota> upgrading_ = std::make_shared<ConnectionQuota>();
};

}  // namespace

std::unique_ptr<Listener> MakeLeanWsListener(const TransportOptions& options,
                                             ConnectionHandler* handler) {
  return std::make_unique<LeanWsListener>(options, handler);
}

size_t LeanWsSessionSize() { return sizeof(lean_ws::Session); }

}  // namespace flare
