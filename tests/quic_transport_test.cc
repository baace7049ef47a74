// The QUIC listener (adapters/quic) with the client library's QUIC
// transport, over loopback: the token record, frames both ways, frames
// larger than many packets, close codes, oversize frames, certificate
// pinning. The handler stands in for the gateway.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/quic/quic_listener.h"
#include "adapters/quic/quic_tls.h"
#include "client/client_transport.h"

namespace flare {
namespace {

using namespace std::chrono_literals;

// Records what the listener hands over; echoes frames, and closes a
// connection whose token is not "good" (4001) or that sends "close".
class TestHandler final : public ConnectionHandler {
 public:
  void OnOpen(const std::shared_ptr<Connection>& conn, std::string token) override {
    std::lock_guard lock(mu_);
    tokens_.push_back(token);
    if (token != "good") conn->Close(4001, "bad token");
    cv_.notify_all();
  }
  void OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data,
               bool binary) override {
    if (data == "close") return conn->Close(4321, "closing as asked");
    std::lock_guard lock(mu_);
    frames_.emplace_back(data);
    last_ = conn;
    conn->Send(std::make_shared<const std::string>(data), binary);
    cv_.notify_all();
  }
  void OnClose(const std::shared_ptr<Connection>&) override {
    std::lock_guard lock(mu_);
    ++closed_;
    cv_.notify_all();
  }

  template <typename Pred>
  bool Wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, pred);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> tokens_, frames_;
  std::shared_ptr<Connection> last_;
  int closed_ = 0;
};

// A QUIC client transport driven from the test thread.
class TestClient {
 public:
  explicit TestClient(QuicClientOptions options = {}) {
    transport_ = MakeQuicClientTransport({[this](std::string_view data, bool binary) {
                                            std::lock_guard lock(mu_);
                                            messages_.emplace_back(std::string(data), binary);
                                            cv_.notify_all();
                                          },
                                          [this](uint16_t code, const std::string& reason) {
                                            std::lock_guard lock(mu_);
                                            closed_ = true;
                                            close_code_ = code;
                                            close_reason_ = reason;
                                            cv_.notify_all();
                                          }},
                                         std::move(options));
  }
  ~TestClient() { transport_->Shutdown(); }

  Status Connect(uint16_t port, const std::string& token) {
    std::promise<Status> done;
    auto result = done.get_future();
    transport_->Post([&] {
      transport_->Connect("127.0.0.1", port, "/ws?token=" + token,
                          [&](Status st) { done.set_value(st); });
    });
    return result.get();
  }
  void Send(std::string bytes, bool binary = false) {
    auto shared = std::make_shared<const std::string>(std::move(bytes));
    transport_->Post([this, shared, binary] { transport_->Send(shared, binary); });
  }
  bool WaitMessages(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 20s, [&] { return messages_.size() >= n; });
  }
  bool WaitClosed() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return closed_; });
  }

  std::unique_ptr<ClientTransport> transport_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, bool>> messages_;
  bool closed_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

class QuicTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flare-quic-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto cert = quic::EnsureDevCertificate(dir_.string());
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    options_.bind_address = "127.0.0.1";
    options_.cert = *cert;
    options_.max_frame_bytes = 2 << 20;
    listener_ = MakeQuicListener(options_, &handler_);
    ASSERT_TRUE(listener_->Start().ok());
    ASSERT_NE(listener_->port(), 0);
  }
  // Replaces the listener with one on these options, changed by `change`.
  template <typename Change>
  void RestartWith(Change change) {
    listener_->Stop();
    change(options_);
    listener_ = MakeQuicListener(options_, &handler_);
    ASSERT_TRUE(listener_->Start().ok());
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    std::filesystem::remove_all(dir_);
  }
  QuicClientOptions Pinned() const {
    QuicClientOptions o;
    o.pinned_cert_file = (dir_ / "quic-dev-cert.pem").string();
    return o;
  }

  std::filesystem::path dir_;
  QuicListenerOptions options_;
  TestHandler handler_;
  std::unique_ptr<QuicListener> listener_;
};

TEST_F(QuicTransport, TokenRecordOpensAndFramesGoBothWays) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  client.Send("hello");
  client.Send(std::string("\x00\x01\x02", 3), true);
  ASSERT_TRUE(client.WaitMessages(2));
  EXPECT_EQ(client.messages_[0], std::make_pair(std::string("hello"), false));
  EXPECT_EQ(client.messages_[1], std::make_pair(std::string("\x00\x01\x02", 3), true));
  std::lock_guard lock(handler_.mu_);
  EXPECT_EQ(handler_.tokens_, std::vector<std::string>{"good"});
  EXPECT_NE(handler_.last_->RemoteAddress().find("127.0.0.1:"), std::string::npos);
}

TEST_F(QuicTransport, LargeFramesCrossManyPacketsIntact) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  std::vector<std::string> sent;
  for (size_t size : {size_t{1} << 20, size_t{300'001}, size_t{2} << 20}) {
    std::string frame(size, '\0');
    for (size_t i = 0; i < size; ++i) frame[i] = static_cast<char>((i * 131 + size) & 0xff);
    sent.push_back(frame);
    client.Send(frame, true);
  }
  ASSERT_TRUE(client.WaitMessages(sent.size()));
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(client.messages_[i].first.size(), sent[i].size());
    EXPECT_TRUE(client.messages_[i].first == sent[i]) << "frame " << i << " differs";
  }
}

// A client that stops reading (its I/O thread is held) acknowledges
// nothing and grants no credit beyond its window: what the server queues
// meanwhile all counts (the gateway compares it with
// max_send_queue_bytes), and all of it arrives, in order, once the client
// reads again.
TEST_F(QuicTransport, AStalledClientGetsEverythingQueuedOnceItReads) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  client.Send("hi");
  ASSERT_TRUE(client.WaitMessages(1));
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(handler_.mu_);
    conn = handler_.last_;
  }
  std::promise<void> blocked, release;
  std::shared_future<void> released = release.get_future().share();
  client.transport_->Post([&blocked, released] {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();
  constexpr size_t kFrame = 64 * 1024, kFrames = 64;  // 4 MiB, beyond the client's window
  size_t queued = 0;
  for (size_t i = 0; i < kFrames; ++i) {
    queued = conn->Send(std::make_shared<const std::string>(kFrame, static_cast<char>(i)), true);
  }
  EXPECT_GE(queued, kFrame * kFrames);
  release.set_value();
  ASSERT_TRUE(client.WaitMessages(1 + kFrames));
  for (size_t i = 0; i < kFrames; ++i) {
    EXPECT_EQ(client.messages_[1 + i].first, std::string(kFrame, static_cast<char>(i)));
  }
}

TEST_F(QuicTransport, ServerCloseCodeAndReasonReachTheClient) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  client.Send("before");
  client.Send("close");
  ASSERT_TRUE(client.WaitClosed());
  EXPECT_EQ(client.close_code_, 4321);
  EXPECT_EQ(client.close_reason_, "closing as asked");
  ASSERT_EQ(client.messages_.size(), 1u) << "frames queued before the close arrive first";
  EXPECT_TRUE(handler_.Wait([&] { return handler_.closed_ == 1; }));
}

TEST_F(QuicTransport, BadTokenIsClosedWithTheHandlersCode) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "forged").ok());
  ASSERT_TRUE(client.WaitClosed());
  EXPECT_EQ(client.close_code_, 4001);
  EXPECT_EQ(client.close_reason_, "bad token");
}

TEST_F(QuicTransport, OversizeFrameClosesWith1009) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  client.Send(std::string((2 << 20) + 1, 'x'));
  ASSERT_TRUE(client.WaitClosed());
  EXPECT_EQ(client.close_code_, 1009);
  std::lock_guard lock(handler_.mu_);
  EXPECT_TRUE(handler_.frames_.empty());
}

TEST_F(QuicTransport, ClientCloseReachesTheHandler) {
  TestClient client(Pinned());
  ASSERT_TRUE(client.Connect(listener_->port(), "good").ok());
  client.Send("x");
  ASSERT_TRUE(client.WaitMessages(1));
  client.transport_->Post([&] { client.transport_->Close(); });
  EXPECT_TRUE(handler_.Wait([&] { return handler_.closed_ == 1; }));
}

TEST_F(QuicTransport, AnotherCertificateThanThePinnedOneIsRefused) {
  auto other = quic::EnsureDevCertificate((dir_ / "other").string());
  ASSERT_TRUE(other.ok());
  QuicClientOptions o;
  o.pinned_cert_file = other->cert_file;
  TestClient client(o);
  Status st = client.Connect(listener_->port(), "good");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pinned"), std::string::npos) << st.ToString();
  std::lock_guard lock(handler_.mu_);
  EXPECT_TRUE(handler_.tokens_.empty()) << "no token is sent to an unverified server";
}

TEST_F(QuicTransport, SystemTrustRefusesTheSelfSignedCertificate) {
  TestClient client;  // no pin, not insecure: the system's CAs
  EXPECT_FALSE(client.Connect(listener_->port(), "good").ok());
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST_F(QuicTransport, TheDevelopmentCertificateIsReusedAcrossStarts) {
  std::string before = Slurp(dir_ / "quic-dev-cert.pem");
  ASSERT_NE(before.find("BEGIN CERTIFICATE"), std::string::npos);
  auto again = quic::EnsureDevCertificate(dir_.string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Slurp(again->cert_file), before);
  EXPECT_EQ(
      std::filesystem::status(again->key_file).permissions() & std::filesystem::perms::others_read,
      std::filesystem::perms::none);
  TestClient client(Pinned());
  EXPECT_TRUE(client.Connect(listener_->port(), "good").ok());
}

// Forwards datagrams from clients to `server_port` and drops every answer:
// handshakes through it never finish.
class BlackHoleRelay {
 public:
  explicit BlackHoleRelay(uint16_t server_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any);
    socklen_t len = sizeof any;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&any), &len);
    port_ = ntohs(any.sin_port);
    server_ = any;
    server_.sin_port = htons(server_port);
    timeval tv{0, 100'000};  // so that the thread sees stop_
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { Run(); });
  }
  ~BlackHoleRelay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void Run() {
    std::array<char, 65536> buf;
    while (!stop_) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n =
          ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0 || from.sin_port == server_.sin_port) continue;  // the server's answers: dropped
      ::sendto(fd_, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&server_),
               sizeof server_);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  sockaddr_in server_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Handshakes that never finish hold a slot of their address each until the
// handshake timeout: past max_handshaking_per_address that address's new
// connections are ignored, and it is served again once they are gone.
TEST_F(QuicTransport, HandshakesPastTheAddressLimitAreIgnoredUntilOthersEnd) {
  RestartWith([](QuicListenerOptions& o) {
    o.max_handshaking_per_address = 2;
    o.handshake_timeout_ms = 4000;
  });
  BlackHoleRelay relay(listener_->port());
  QuicClientOptions quick = Pinned();
  quick.handshake_timeout_ms = 500;
  // Three at once through the relay: their answers never arrive.
  std::vector<std::unique_ptr<TestClient>> stalled;
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<TestClient>(quick));
    auto done = std::make_shared<std::promise<Status>>();
    results.push_back(done->get_future());
    ClientTransport* t = stalled.back()->transport_.get();
    t->Post([t, done, port = relay.port()] {
      t->Connect("127.0.0.1", port, "/ws?token=good", [done](Status st) {
        try {
          done->set_value(st);
        } catch (const std::future_error&) {  // reported once is enough
        }
      });
    });
  }
  for (auto& r : results) EXPECT_FALSE(r.get().ok());
  // The server counts two; the third was ignored.
  EXPECT_EQ(listener_->HandshakingFrom("127.0.0.1"), 2u);
  TestClient refused(quick);
  EXPECT_FALSE(refused.Connect(listener_->port(), "good").ok());

  // The stalled handshakes time out on the server and give their slots back.
  TestClient served(Pinned());
  Status st = Unavailable("not tried");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!st.ok() && std::chrono::steady_clock::now() < deadline)
    st = served.Connect(listener_->port(), "good");
  EXPECT_TRUE(st.ok()) << st.ToString();
  // An Initial the stalled clients resent late may start one more, which
  // times out too: none is left for good.
  while (listener_->HandshakingFrom("127.0.0.1") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(listener_->HandshakingFrom("127.0.0.1"), 0u);
}

}  // namespace
}  // namespace flare
