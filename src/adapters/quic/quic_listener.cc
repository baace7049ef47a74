// The QUIC listener: one UDP socket and one I/O thread (its own
// io_context). Datagrams are routed to connections by destination
// connection id; a client's first Initial packet creates the connection.
#include "adapters/quic/quic_listener.h"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

#include <array>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include "adapters/quic/quic_ngtcp2.h"
#include "adapters/quic/quic_server_conn.h"

namespace flare {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using quic::ServerConn;

// Connection ids are the gateway's session ids: they count up from a
// random multiple of 2^32, like the WebSocket transport's (which draws its
// own base), so ids do not collide across transports and processes.
uint64_t RandomIdBase() {
  std::random_device device;
  return static_cast<uint64_t>(device()) << 32;
}

class Listener final : public QuicListener, public quic::ServerContext {
 public:
  Listener(const QuicListenerOptions& options, ConnectionHandler* handler)
      : options_(options),
        handler_(handler),
        io_(std::make_shared<asio::io_context>(1)),
        guard_(asio::make_work_guard(*io_)),
        socket_(*io_) {
    quic::Random(reset_secret_.data(), reset_secret_.size());
  }
  ~Listener() override { Stop(); }

  Status Start() override {
    auto creds = quic::ServerCredentials::Load(options_.cert);
    if (!creds.ok()) return creds.status();
    credentials_ = *creds;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.bind_address, ec);
    if (ec)
      return InvalidArgument("server.bind_address '" + options_.bind_address + "' is invalid");
    udp::endpoint endpoint(address, options_.port);
    socket_.open(endpoint.protocol(), ec);
    if (!ec) socket_.bind(endpoint, ec);
    if (ec) {
      return IoError("cannot bind UDP " + options_.bind_address + ":" +
                     std::to_string(options_.port) + ": " + ec.message());
    }
    socket_.non_blocking(true, ec);
    // Room for bursts: a full socket buffer drops datagrams, which QUIC
    // recovers from but at the cost of a congestion-window cut.
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
    socket_.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
    local_ = socket_.local_endpoint();
    port_ = local_.port();
    Receive();
    thread_ = std::thread([io = io_] {
      pthread_setname_np(pthread_self(), "flare-quic");
      io->run();
    });
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void StopAccepting() override {
    asio::post(*io_, [this] { accepting_ = false; });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    io_->stop();
    if (thread_.joinable()) thread_.join();
    // The I/O thread is gone: connection state can be freed from here.
    auto conns = conns_;
    for (auto& [cid, conn] : conns) conn->Drop(false);
    conns_.clear();
    boost::system::error_code ignored;
    socket_.close(ignored);
    // Handlers still queued (wake-ups, cancelled timers) hold connections,
    // which hold the io_context: run them out here, they find them dropped.
    io_->restart();
    io_->poll();
  }

  size_t HandshakingFrom(const std::string& address) const override {
    return handshaking_->Count(address);
  }

  // ServerContext (I/O thread).
  const QuicListenerOptions& options() const override { return options_; }
  ConnectionHandler* handler() const override { return handler_; }
  const quic::ServerCredentials& credentials() const override { return *credentials_; }
  const uint8_t* reset_secret() const override { return reset_secret_.data(); }
  void AddCid(const std::string& cid, const std::shared_ptr<ServerConn>& conn) override {
    conns_[cid] = conn;
  }
  void RemoveCid(const std::string& cid) override { conns_.erase(cid); }
  void SendDatagram(const ngtcp2_addr& to, const uint8_t* data, size_t n) override {
    udp::endpoint endpoint;
    std::memcpy(endpoint.data(), to.addr, to.addrlen);
    endpoint.resize(to.addrlen);
    boost::system::error_code ec;
    // Non-blocking: a full send buffer loses the datagram, as the network may.
    socket_.send_to(asio::buffer(data, n), endpoint, 0, ec);
  }

 private:
  void Receive() {
    socket_.async_receive_from(asio::buffer(rx_), peer_,
                               [this](const boost::system::error_code& ec, size_t n) {
                                 // Stopping: a datagram may have completed the
                                 // read before the socket closed; read no more.
                                 if (ec == asio::error::operation_aborted || stopped_) return;
                                 if (!ec) OnDatagram(n);
                                 Receive();
                               });
  }

  void OnDatagram(size_t n) {
    ngtcp2_version_cid vc;
    if (ngtcp2_pkt_decode_version_cid(&vc, rx_.data(), n, quic::kCidBytes) != 0) return;
    ngtcp2_path path{
        {const_cast<sockaddr*>(local_.data()), static_cast<ngtcp2_socklen>(local_.size())},
        {peer_.data(), static_cast<ngtcp2_socklen>(peer_.size())},
        nullptr};
    auto it = conns_.find(quic::CidKey(vc.dcid, vc.dcidlen));
    if (it != conns_.end()) {
      auto conn = it->second;  // OnPacket may drop it from the map
      conn->OnPacket(path, rx_.data(), n);
      return;
    }
    if (!accepting_ || Connections() >= options_.max_connections) return;
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, rx_.data(), n) != 0) return;  // not a client's first packet
    const uint64_t id = ++next_id_;
    // Ignored like a lost packet: an address with too many handshakes
    // under way cannot hold every connection slot until they time out.
    QuotaSlot slot;
    if (options_.max_handshaking_per_address > 0) {
      slot = QuotaSlot(handshaking_, peer_.address().to_string(), id,
                       options_.max_handshaking_per_address);
      if (!slot) return;
    }
    auto conn = std::make_shared<ServerConn>(
        this, io_, id, peer_.address().to_string() + ":" + std::to_string(peer_.port()));
    conn->HoldUntilOpened(std::move(slot));
    Status st = conn->Init(hd, path);
    if (!st.ok()) {
      spdlog::warn("quic: cannot accept a connection: {}", st.message());
      conn->Drop(false);
      return;
    }
    conn->OnPacket(path, rx_.data(), n);
  }

  // Connections have at least two ids each while they handshake, usually
  // more afterwards; this bound is coarse on purpose.
  size_t Connections() const { return conns_.size() / 2; }

  const QuicListenerOptions options_;
  ConnectionHandler* const handler_;
  std::shared_ptr<asio::io_context> io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  udp::socket socket_;
  udp::endpoint local_, peer_;
  std::array<uint8_t, 65536> rx_{};
  std::array<uint8_t, quic::kResetSecretBytes> reset_secret_{};
  std::shared_ptr<quic::ServerCredentials> credentials_;
  std::unordered_map<std::string, std::shared_ptr<ServerConn>> conns_;  // by connection id
  // Connections per source address still in their handshake.
  const std::shared_ptr<ConnectionQuota> handshaking_ = std::make_shared<ConnectionQuota>();
  std::thread thread_;
  uint16_t port_ = 0;
  bool accepting_ = true;
  uint64_t next_id_ = RandomIdBase();
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<QuicListener> MakeQuicListener(const QuicListenerOptions& options,
                                               ConnectionHandler* handler) {
  return std::make_unique<Listener>(options, handler);
}

}  // namespace flare
