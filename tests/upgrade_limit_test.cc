// Both WebSocket transports close a connection as soon as it is accepted
// when its address already has TransportOptions::max_upgrading_per_address
// connections in their upgrade; other addresses are served, and a slot
// comes back once one of those connections finishes its upgrade.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "services/signaling/gateway/transport.h"
#include "support/loopback_transport.h"
#include "support/raw_ws_client.h"

namespace flare {
namespace {

using testing::RawWsClient;

class QuietHandler final : public ConnectionHandler {
 public:
  void OnOpen(const std::shared_ptr<Connection>&, std::string) override {}
  void OnFrame(const std::shared_ptr<Connection>&, std::string_view, bool) override {}
  void OnClose(const std::shared_ptr<Connection>&) override {}
};

class UpgradeLimit : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    TransportOptions o = testing::LoopbackTransportOptions(1);
    o.max_upgrading_per_address = 3;
    auto t = MakeTransport(GetParam(), o, &handler_, testing::EmptyHttpHandler());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(t).value();
    ASSERT_TRUE(transport_->Start().ok());
  }
  void TearDown() override {
    if (transport_) transport_->Stop();
  }
  uint16_t port() const { return transport_->ws_port(); }

  QuietHandler handler_;
  std::unique_ptr<Transport> transport_;
};

const std::string kHalf = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
const std::string kRest =
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

TEST_P(UpgradeLimit, ConnectionsPastTheLimitStillUpgradingAreClosedAtOnce) {
  std::vector<std::unique_ptr<RawWsClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawWsClient>(port(), "127.0.0.1"));
    ASSERT_TRUE(held.back()->WriteRaw(kHalf));
  }
  RawWsClient fourth(port(), "127.0.0.1");
  fourth.WriteRaw(kHalf);
  EXPECT_TRUE(fourth.ClosedByServer()) << "a fourth upgrade from the address was kept";

  RawWsClient elsewhere(port(), "127.0.0.2");
  EXPECT_TRUE(elsewhere.Open()) << "another address was refused";

  // One of the three finishes its upgrade: the address has a slot again
  // once the server has seen it through (the 101 may reach the client a
  // moment before the slot is given back, so a few tries are allowed).
  ASSERT_TRUE(held[0]->WriteRaw(kRest));
  ASSERT_EQ(held[0]->ReadResponseHead().rfind("HTTP/1.1 101", 0), 0u);
  bool upgraded = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       !upgraded && std::chrono::steady_clock::now() < deadline;) {
    RawWsClient again(port(), "127.0.0.1");
    upgraded = again.Open();
    if (!upgraded) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling
  }
  EXPECT_TRUE(upgraded) << "the upgraded connection kept its slot";
}

INSTANTIATE_TEST_SUITE_P(Transports, UpgradeLimit, ::testing::Values("lean", "beast"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace flare
