// The WebSocket transport and login conflicts under concurrency, against a
// real `flare serve`: connections that vanish (reset, half-closed) while the
// server writes to them, and simultaneous logins of one user.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "services/signaling/gateway/frame_codec.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::RawConnection;
using testing::ServerProcess;

// A WebSocket client on a plain socket, so a test can end the connection
// the rude ways: a TCP reset, or a half-close with frames still coming.
class BareWsClient {
 public:
  BareWsClient(uint16_t port, const std::string& token) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::string upgrade =
        "GET /ws?token=" + token +
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!WriteAll(upgrade)) return;
    std::string response;
    while (response.find("\r\n\r\n") == std::string::npos) {
      std::string more = ReadSome(5000);
      if (more.empty()) return;
      response += more;
    }
    upgraded_ = response.rfind("HTTP/1.1 101", 0) == 0;
  }
  ~BareWsClient() {
    if (fd_ >= 0) close(fd_);
  }

  bool upgraded() const { return upgraded_; }

  // One masked text frame (clients must mask).
  bool SendText(const std::string& payload) {
    std::string frame;
    frame += static_cast<char>(0x81);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i)
      frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return WriteAll(frame);
  }

  // Whatever arrives within `timeout_ms` (empty on timeout or EOF).
  std::string ReadSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

  // Closes with a TCP reset (SO_LINGER 0) instead of a FIN.
  void Reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd_);
    fd_ = -1;
  }
  // Stops sending (the server reads EOF) but leaves unread data pending.
  void HalfClose() { shutdown(fd_, SHUT_WR); }

 private:
  bool WriteAll(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  int fd_ = -1;
  bool upgraded_ = false;
};

std::string SendFrame(const std::string& peer, const std::string& client_msg_id) {
  pb::ClientFrame frame;
  frame.set_request_id(client_msg_id);
  auto* send = frame.mutable_send();
  send->set_client_msg_id(client_msg_id);
  send->set_peer_user_id(peer);
  send->set_type(pb::MESSAGE_TYPE_TEXT);
  send->mutable_content()->set_text(std::string(200, 'f'));
  return EncodeFrame(frame, Encoding::kJson);
}

// The frames of one WebSocket message (the server may batch several).
std::vector<pb::ServerFrame> Decode(const RawConnection::Event& e) {
  auto f = DecodeServerFrame(e.data, e.binary ? Encoding::kBinary : Encoding::kJson);
  EXPECT_TRUE(f.ok()) << e.data;
  if (!f.ok()) return {};
  if (f->batch_size() == 0) return {*f};
  return {f->batch().begin(), f->batch().end()};
}

bool AnyOf(const RawConnection::Event& e, bool (pb::ServerFrame::*has)() const) {
  for (const auto& f : Decode(e)) {
    if ((f.*has)()) return true;
  }
  return false;
}

// Victims v0..v7 connect, send, start receiving pushes and then vanish by a
// reset or a half-close, over and over, while flooders push messages at
// them. The server must survive it (clean under AddressSanitizer) and keep
// serving.
TEST(E2eTransport, FloodWhileConnectionsAreResetAndHalfClosed) {
  ServerProcess server({{"FLARE_SERVER_IO_THREADS", "2"}});
  constexpr int kVictims = 8, kFlooders = 3, kRounds = 15;
  std::atomic<bool> stop{false};
  std::atomic<int> flooded{0};
  std::vector<std::thread> flooders;
  for (int f = 0; f < kFlooders; ++f) {
    flooders.emplace_back([&, f] {
      BareWsClient flooder(server.ws_port(), server.Token("flooder" + std::to_string(f)));
      ASSERT_TRUE(flooder.upgraded());
      for (int n = 0; !stop.load(); ++n) {
        std::string id = "f" + std::to_string(f) + "-" + std::to_string(n);
        if (!flooder.SendText(SendFrame("v" + std::to_string(n % kVictims), id))) break;
        ++flooded;
        flooder.ReadSome(0);  // drain acks so the flooder's own writes never stall
      }
    });
  }
  std::vector<std::thread> victims;
  std::atomic<int> vanished{0};
  for (int v = 0; v < kVictims; ++v) {
    victims.emplace_back([&, v] {
      std::mt19937 random(v);
      for (int round = 0; round < kRounds; ++round) {
        BareWsClient victim(server.ws_port(), server.Token("v" + std::to_string(v)));
        if (!victim.upgraded()) continue;
        for (int i = 0; i < 5; ++i) {
          victim.SendText(SendFrame(
              "flooder0",
              "v" + std::to_string(v) + "-" + std::to_string(round) + "-" + std::to_string(i)));
        }
        // Wait until pushes are flowing to this connection (more than the
        // auth result and acks), so writes are in flight when it vanishes.
        size_t received = 0;
        for (int reads = 0; received < 4096 && reads < 50; ++reads) {
          std::string more = victim.ReadSome(2000);
          if (more.empty()) break;
          received += more.size();
        }
        if (random() % 2) {
          victim.Reset();
        } else {
          victim.HalfClose();
          victim.ReadSome(50);  // a little more of the stream, then the destructor closes
        }
        ++vanished;
      }
    });
  }
  for (auto& t : victims) t.join();
  stop = true;
  for (auto& t : flooders) t.join();
  EXPECT_EQ(vanished.load(), kVictims * kRounds);
  EXPECT_GT(flooded.load(), kVictims * kRounds);  // the flood ran the whole time

  // Still serving: a new client authenticates and gets answers.
  auto alice = std::make_unique<FlareClient>(server.Options("alice"));
  ASSERT_TRUE(alice->Connect().ok());
  EXPECT_TRUE(alice->SendText("bob", "after the storm").ok());
  long status = 0;
  server.HttpGet("/healthz", &status);
  EXPECT_EQ(status, 200);
  alice.reset();
  EXPECT_EQ(server.Terminate(), 0);  // a sanitizer report would make the exit status non-zero
}

// Several clients log in at once as the same user on the same platform under
// platform_exclusive: afterwards exactly one is connected; every other got
// the kicked frame and close 4004.
TEST(E2eTransport, ConcurrentExclusiveLoginsLeaveExactlyOneConnection) {
  ServerProcess server(
      {{"FLARE_PRESENCE_LOGIN_CONFLICT", "platform_exclusive"}, {"FLARE_SERVER_IO_THREADS", "2"}});
  constexpr int kClients = 6;
  std::vector<std::unique_ptr<RawConnection>> conns(kClients);
  std::vector<std::thread> openers;
  for (int i = 0; i < kClients; ++i) {
    openers.emplace_back([&, i] {
      std::string token = server.Token("alice", "device" + std::to_string(i));
      conns[i] = std::make_unique<RawConnection>(server.ws_port(), "/ws?token=" + token);
    });
  }
  for (auto& t : openers) t.join();
  for (auto& c : conns) ASSERT_TRUE(c->connected());

  // Read every connection's events until all but one have closed.
  std::vector<bool> closed(kClients, false), kicked(kClients, false);
  int closed_count = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (closed_count < kClients - 1 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < kClients; ++i) {
      while (!closed[i]) {
        auto e = conns[i]->Next(20);
        if (!e) break;
        if (e->closed) {
          closed[i] = true;
          ++closed_count;
          EXPECT_EQ(e->close_code, 4004) << "connection " << i;
        } else if (AnyOf(*e, &pb::ServerFrame::has_kicked)) {
          kicked[i] = true;
        }
      }
    }
  }
  ASSERT_EQ(closed_count, kClients - 1);
  int survivor = static_cast<int>(std::find(closed.begin(), closed.end(), false) - closed.begin());
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(kicked[i], i != survivor) << "connection " << i;

  // The survivor is authenticated and answers.
  pb::ClientFrame ping;
  ping.set_request_id("p1");
  ping.mutable_ping()->set_client_time_ms(1);
  conns[survivor]->Send(EncodeFrame(ping, Encoding::kJson), false);
  bool pong = false;
  while (auto e = conns[survivor]->Next(5000)) {
    ASSERT_FALSE(e->closed) << "the survivor was closed";
    if (AnyOf(*e, &pb::ServerFrame::has_pong)) {
      pong = true;
      break;
    }
  }
  EXPECT_TRUE(pong);
}

}  // namespace
}  // namespace flare
