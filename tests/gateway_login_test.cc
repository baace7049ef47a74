// The gateway's logins run off the I/O thread, one user's in order on its
// login lane: a login of a connection that closed before it ran registers
// nothing and kicks nobody, and a later login of the same user is never
// overtaken by an earlier one. The gateway runs in-process on the memory
// backends with connections that record what they are sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>

#include "adapters/memory/memory_settings_store.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "ports/store_factory.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/signaling/gateway/frame_codec.h"
#include "services/signaling/gateway/gateway.h"
#include "services/signaling/gateway/transport.h"
#include "services/signaling/online/session_revocations.h"
#include "support/forwarding_route_table.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
const std::string kSecret = "gateway-login-test-secret-0123456789abcdef";

// Where a test holds threads: each caller is counted, and while the gate is
// closed the first `hold` of them wait until it opens.
class Gate {
 public:
  explicit Gate(int hold) : hold_(hold) {}
  // Closes the gate for the next `n` callers only; returns how many had
  // entered before.
  int CloseForNext(int n) {
    std::lock_guard lock(mu_);
    closed_ = true;
    hold_ = entered_ + n;
    return entered_;
  }
  void Enter() {
    std::unique_lock lock(mu_);
    bool held = entered_++ < hold_;
    cv_.notify_all();
    if (held) cv_.wait(lock, [&] { return !closed_; });
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  void WaitEntered(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  // Whether `n` callers entered within `ms` (a bound on a call that must
  // not start: the gate holds everything before it).
  bool EnteredWithin(int n, int ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return entered_ >= n; });
  }

 private:
  int hold_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int entered_ = 0;
};

// The memory route table whose first login, once gated, waits until released.
class GatedRouteTable final : public testing::ForwardingRouteTable {
 public:
  Status RegisterDisplacing(const std::string& t, const std::string& u, const DeviceRoute& r,
                            LoginConflict policy, std::vector<DeviceRoute>& displaced) override {
    gate.Enter();
    ++registrations;
    return inner_.RegisterDisplacing(t, u, r, policy, displaced);
  }
  Status Unregister(const std::string& t, const std::string& u, uint64_t s) override {
    ++unregistrations;
    return inner_.Unregister(t, u, s);
  }
  // Registrations after a lapse: the first `fail_registers` fail.
  Status Register(const std::string& t, const std::string& u, const DeviceRoute& r) override {
    ++registered_again;
    if (fail_registers.fetch_sub(1) > 0) return Unavailable("injected route table failure");
    return inner_.Register(t, u, r);
  }

  Gate gate{1};
  std::atomic<int> registrations{0}, unregistrations{0}, registered_again{0};
  std::atomic<int> fail_registers{0};
};

// The memory settings store whose reads, once gated, wait until released.
class GatedSettingsStore final : public SettingsStore {
 public:
  Result<VersionedDocument> Get(const std::string& key) override {
    gate.Enter();
    return inner_.Get(key);
  }
  Result<int64_t> Put(const std::string& key, int64_t expected_version,
                      const std::string& value) override {
    return inner_.Put(key, expected_version, value);
  }

  Gate gate{std::numeric_limits<int>::max()};

 private:
  MemorySettingsStore inner_;
};

class RecordingConnection final : public Connection {
 public:
  explicit RecordingConnection(uint64_t id) : id_(id) {}
  uint64_t id() const override { return id_; }
  size_t Send(std::shared_ptr<const std::string> bytes, bool binary) override {
    std::lock_guard lock(mu_);
    auto frame = DecodeServerFrame(*bytes, binary ? Encoding::kBinary : Encoding::kJson);
    if (frame.ok()) frames_.push_back(*frame);
    cv_.notify_all();
    return 0;
  }
  void Close(uint16_t code, std::string) override {
    std::lock_guard lock(mu_);
    close_code_ = code;
    cv_.notify_all();
  }
  std::string RemoteAddress() const override { return "127.0.0.1"; }

  // Waits until a frame matching `pred` arrived (or 10 s passed).
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& f : frames_) {
        if (pred(f)) return true;
      }
      return false;
    });
  }
  template <typename Pred>
  int Count(Pred pred) {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count_if(frames_.begin(), frames_.end(), pred));
  }
  // The close code once the gateway closed it (0 if not within 10 s).
  uint16_t WaitClosed() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return close_code_ != 0; });
    return close_code_;
  }
  bool Kicked() {
    std::lock_guard lock(mu_);
    for (const auto& f : frames_) {
      if (f.has_kicked()) return true;
    }
    return false;
  }

 private:
  uint64_t id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pb::ServerFrame> frames_;
  uint16_t close_code_ = 0;
};

class GatewayLogin : public ::testing::Test {
 protected:
  explicit GatewayLogin(int lanes = 2, size_t lane_queue = 50'000) {
    Config config;
    config.storage_backend = "memory";
    stores_ = *OpenStores(config);
    access_ = std::make_unique<ConversationAccess>(*stores_.conversations);
    writer_ = std::make_unique<StorageWriter>(*stores_.messages, *stores_.conversations, clock_,
                                              StorageWriterOptions{}, nullptr);
    orchestrator_ = std::make_unique<MessageOrchestrator>(*access_, *writer_, clock_, SendLimits{});
    reader_ = std::make_unique<LocalStorageReader>(*stores_.messages, *access_, SyncLimits{});
    sessions_ = std::make_unique<LocalSessionService>(*stores_.messages, *stores_.conversations,
                                                      BootstrapLimits{});
    presence_ = std::make_unique<PresenceHub>(routes_);
    GatewayOptions options;
    options.gateway_id = "gw-test";
    options.login_conflict = *LoginConflictPolicy::Parse("exclusive");
    options.login_lanes = lanes;
    options.login_lane_queue = lane_queue;
    gateway_ = std::make_unique<Gateway>(
        options, GatewayDeps{tokens_, *orchestrator_, *reader_, *sessions_, routes_, *presence_,
                             *stores_.conversations, *stores_.messages, *access_, blocking_, clock_,
                             server_metrics_, nullptr, nullptr, nullptr, nullptr, &revocations_});
  }
  ~GatewayLogin() override {
    settings_.gate.Open();
    routes_.gate.Open();
    gateway_.reset();
  }

  std::string Token(const std::string& device, const std::string& user = "alice") {
    return *tokens_.Issue({"t", user, device, "web", 0}, clock_.NowMs() / 1000, 3600);
  }
  // Connects `user` as connection `id`; waits for the login's answer.
  std::shared_ptr<RecordingConnection> LogIn(uint64_t id, const std::string& user) {
    auto conn = std::make_shared<RecordingConnection>(id);
    gateway_->OnOpen(conn, Token("d" + std::to_string(id), user));
    EXPECT_TRUE(conn->WaitFor([](const pb::ServerFrame& f) { return f.has_auth_result(); }));
    return conn;
  }
  size_t RoutesOf(const std::string& user) {
    std::vector<DeviceRoute> routes;
    EXPECT_TRUE(routes_.Lookup("t", user, routes).ok());
    return routes.size();
  }

  const Clock& clock_ = SystemClock::Instance();
  TokenSigner tokens_{kSecret};
  Metrics metrics_;
  ServerMetrics server_metrics_{metrics_};
  ThreadPool blocking_{2, 1000};
  Stores stores_;
  std::unique_ptr<ConversationAccess> access_;
  std::unique_ptr<StorageWriter> writer_;
  std::unique_ptr<MessageOrchestrator> orchestrator_;
  std::unique_ptr<LocalStorageReader> reader_;
  std::unique_ptr<LocalSessionService> sessions_;
  GatedRouteTable routes_;
  GatedSettingsStore settings_;
  SessionRevocations revocations_{settings_, clock_};
  std::unique_ptr<PresenceHub> presence_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayLogin, ALoginOfAClosedConnectionNeitherRegistersNorKicksTheNewerOne) {
  routes_.gate.Close();
  auto old_conn = std::make_shared<RecordingConnection>(1);
  gateway_->OnOpen(old_conn, Token("d1"));
  routes_.gate.WaitEntered(1);  // the old login waits inside the route table
  gateway_->OnClose(old_conn);
  auto new_conn = std::make_shared<RecordingConnection>(2);
  gateway_->OnOpen(new_conn, Token("d2"));  // exclusive: displaces every other device
  // The new login waits behind the old one on the user's lane; a gateway
  // that ran them on any free thread would register it now and let the
  // stale login displace it afterwards.
  EXPECT_FALSE(routes_.gate.EnteredWithin(2, 500)) << "the newer login overtook the older one";
  routes_.gate.Open();
  ASSERT_TRUE(new_conn->WaitFor([](const pb::ServerFrame& f) { return f.has_auth_result(); }));
  // The lane ran the old login and the old close before the new login,
  // which has answered: nothing of the old connection is left to run.
  EXPECT_FALSE(new_conn->Kicked()) << "the closed connection's login ran after the new one";
  std::vector<DeviceRoute> routes;
  EXPECT_TRUE(routes_.Lookup("t", "alice", routes).ok());
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 2u);
  gateway_->OnClose(new_conn);  // as the transport does: the session lets go of its connection
}

TEST_F(GatewayLogin, AConnectionClosedBeforeItsLoginRanCostsTheRouteTableNothing) {
  routes_.gate.Close();
  auto first = std::make_shared<RecordingConnection>(1);
  gateway_->OnOpen(first, Token("d1"));
  routes_.gate.WaitEntered(1);  // the lane is busy with the first login
  auto gone = std::make_shared<RecordingConnection>(2);
  gateway_->OnOpen(gone, Token("d2"));  // queued behind it on the user's lane
  gateway_->OnClose(gone);              // and closed before its login ran
  // Its queued login and logout do not keep the session (and through it the
  // connection with its buffers) alive while the lane is busy.
  EXPECT_EQ(gone.use_count(), 1);
  routes_.gate.Open();
  // A third login of the user runs after the second one's login and logout.
  auto third = std::make_shared<RecordingConnection>(3);
  gateway_->OnOpen(third, Token("d3"));
  ASSERT_TRUE(third->WaitFor([](const pb::ServerFrame& f) { return f.has_auth_result(); }));
  // After a mass disconnect most queued logins are of closed connections:
  // each would otherwise still cost a route-table call (a network round
  // trip in cluster mode) for its logout.
  EXPECT_EQ(routes_.registrations, 2);
  EXPECT_EQ(routes_.unregistrations, 0);
  gateway_->OnClose(first);
  gateway_->OnClose(third);
}

TEST_F(GatewayLogin, FramesSentWhileTheRevocationIsReadAreNotTakenAsTheUsers) {
  settings_.gate.Close();
  auto conn = std::make_shared<RecordingConnection>(1);
  gateway_->OnOpen(conn, Token("d1"));
  settings_.gate.WaitEntered(1);  // the login lane reads the user's revocation
  pb::ClientFrame send;
  send.set_request_id("early");
  send.mutable_send()->set_peer_user_id("bob");
  send.mutable_send()->set_client_msg_id("m1");
  send.mutable_send()->mutable_content()->set_text("sent before the login was let in");
  std::string bytes = send.SerializeAsString();
  gateway_->OnFrame(conn, bytes, true);
  EXPECT_TRUE(conn->WaitFor([](const pb::ServerFrame& f) {
    return f.request_id() == "early" && f.error().code() == pb::ERROR_CODE_UNAUTHENTICATED;
  }));
  settings_.gate.Open();
  ASSERT_TRUE(conn->WaitFor([](const pb::ServerFrame& f) { return f.has_auth_result(); }));
  gateway_->OnClose(conn);
}

TEST_F(GatewayLogin, ATokenIssuedBeforeTheUsersRevocationIsRefused) {
  auto old_token = *tokens_.Issue({"t", "alice", "d1", "web", 0}, clock_.NowMs() / 1000 - 5, 3600);
  ASSERT_TRUE(revocations_.Revoke("t", "alice").ok());
  auto conn = std::make_shared<RecordingConnection>(1);
  gateway_->OnOpen(conn, old_token);
  ASSERT_TRUE(conn->WaitFor([](const pb::ServerFrame& f) {
    return f.has_error() && f.error().code() == pb::ERROR_CODE_AUTH_FAILED;
  }));
  EXPECT_EQ(conn->WaitClosed(), 4001);
  EXPECT_EQ(routes_.registrations, 0);
  auto fresh = std::make_shared<RecordingConnection>(2);
  gateway_->OnOpen(fresh, Token("d2"));
  ASSERT_TRUE(fresh->WaitFor([](const pb::ServerFrame& f) { return f.has_auth_result(); }));
  gateway_->OnClose(conn);
  gateway_->OnClose(fresh);
}

// One login lane: a login queued behind other lane tasks answers only once
// they ran, which is how these tests know a repair's registrations did.
class GatewayRoutes : public GatewayLogin {
 protected:
  static constexpr size_t kLaneQueue = 8;
  GatewayRoutes() : GatewayLogin(1, kLaneQueue) {}
  static int CatchUps(RecordingConnection& conn) {
    return conn.Count([](const pb::ServerFrame& f) { return f.has_catch_up(); });
  }
};

TEST_F(GatewayRoutes, ARepairRegistersAgainOnlyWhatFailedAndEachSessionCatchesUpOnce) {
  auto a = LogIn(1, "alice"), b = LogIn(2, "bob"), c = LogIn(3, "carol");
  routes_.fail_registers = 1;
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kEverySession), 3u);
  auto d = LogIn(4, "dave");  // after the three registrations on the lane
  EXPECT_EQ(routes_.registered_again, 3);
  EXPECT_EQ(CatchUps(*a) + CatchUps(*b) + CatchUps(*c), 2);
  EXPECT_TRUE(gateway_->RoutesIncomplete());
  // The next beat registers the one that failed, not every session again.
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kUnfinished), 1u);
  auto e = LogIn(5, "erin");
  EXPECT_EQ(routes_.registered_again, 4);
  EXPECT_EQ(CatchUps(*a), 1);
  EXPECT_EQ(CatchUps(*b), 1);
  EXPECT_EQ(CatchUps(*c), 1);
  EXPECT_EQ(CatchUps(*d), 0);
  EXPECT_FALSE(gateway_->RoutesIncomplete());
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kUnfinished), 0u);
  for (const auto& conn : {a, b, c, d, e}) gateway_->OnClose(conn);
}

TEST_F(GatewayRoutes, ALapseWhileARepairIsQueuedWaitsForIt) {
  auto a = LogIn(1, "alice"), b = LogIn(2, "bob");
  int before = routes_.gate.CloseForNext(1);
  auto c = std::make_shared<RecordingConnection>(3);
  gateway_->OnOpen(c, Token("d3", "carol"));
  routes_.gate.WaitEntered(before + 1);  // carol's login holds the lane
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kEverySession), 3u);
  // Queuing every session again behind the first round would only fill
  // the lane that logins and logouts need.
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kEverySession), 0u);
  EXPECT_TRUE(gateway_->RoutesIncomplete());
  routes_.gate.Open();
  auto d = LogIn(4, "dave");
  EXPECT_EQ(routes_.registered_again, 3);
  EXPECT_TRUE(gateway_->RoutesIncomplete());  // the second lapse is still to repair
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kUnfinished), 4u);
  auto e = LogIn(5, "erin");
  EXPECT_EQ(routes_.registered_again, 7);
  EXPECT_FALSE(gateway_->RoutesIncomplete());
  for (const auto& conn : {a, b, c, d, e}) gateway_->OnClose(conn);
}

TEST_F(GatewayRoutes, ARouteLeftByAFullLaneIsRemovedAtTheNextRepair) {
  auto b = LogIn(1, "bob");
  int before = routes_.gate.CloseForNext(1);
  auto c = std::make_shared<RecordingConnection>(2);
  gateway_->OnOpen(c, Token("d2", "carol"));
  routes_.gate.WaitEntered(before + 1);  // carol's login holds the lane
  std::vector<std::shared_ptr<RecordingConnection>> queued;
  for (uint64_t id = 100; id < 100 + kLaneQueue; ++id) {  // logins that fill the lane's queue
    queued.push_back(std::make_shared<RecordingConnection>(id));
    gateway_->OnOpen(queued.back(), Token("d", "user" + std::to_string(id)));
  }
  gateway_->OnClose(b);  // its route removal is refused
  routes_.gate.Open();
  for (const auto& conn : queued) {  // the lane is idle once the last of them answered
    EXPECT_TRUE(conn->WaitFor([](const pb::ServerFrame& fr) { return fr.has_auth_result(); }));
  }
  EXPECT_EQ(RoutesOf("bob"), 1u) << "the closed session's route";
  EXPECT_TRUE(gateway_->RoutesIncomplete());
  EXPECT_EQ(gateway_->RegisterRoutesAgain(RouteRepair::kUnfinished), 0u);  // no registration
  auto g = LogIn(6, "grace");
  EXPECT_EQ(RoutesOf("bob"), 0u);
  EXPECT_EQ(routes_.unregistrations, 1);
  EXPECT_FALSE(gateway_->RoutesIncomplete());
  for (const auto& conn : queued) gateway_->OnClose(conn);
  for (const auto& conn : {c, g}) gateway_->OnClose(conn);
}

}  // namespace
}  // namespace flare
