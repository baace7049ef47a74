// Accepts WebSocket connections and pins each to one I/O thread, round
// robin; the sessions of a thread share its read buffer and write scheduler.
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
    for (size_t i = 0; i < pool.size(); ++i) {
      threads_.push_back(
          std::make_unique<lean_ws::ThreadState>(pool.context(i), &options_, handler_));
    }
    return accept_.Start(
        pool, options_.bind_address, options_.ws_port,
        [this](tcp::socket socket, size_t thread) { Open(std::move(socket), thread); });
  }

  void StopAccepting() override { accept_.Close(); }

 private:
  void Open(tcp::socket socket, size_t thread) {
    boost::system::error_code ec;
    uint64_t id = ++next_id_;
    auto slot = AdmitForUpgrade(upgrading_, socket, id, options_.max_upgrading_per_address);
    if (!slot) return;
    socket.non_blocking(true, ec);  // reads happen when the socket is readable
    std::make_shared<lean_ws::Session>(std::move(socket), id, threads_[thread].get(),
                                       std::move(*slot))
        ->Start();
  }

  TransportOptions options_;
  ConnectionHandler* handler_;
  std::vector<std::unique_ptr<lean_ws::ThreadState>> threads_;
  AcceptLoop accept_;
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
