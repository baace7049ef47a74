// The gateway inbox over gRPC: GatewayDeliveryClient and the delivery
// service over a real in-process server. Records queued together travel
// in one batch write; a restarted server gets the unacknowledged batches
// again; records for a gateway the directory does not know, or that a
// full queue does not take, are dropped and counted.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/memory/memory_gateway_directory.h"
#include "rpc/gateway_delivery/gateway_delivery_grpc.h"
#include "services/signaling/inbox/gateway_record_codec.h"
#include "signaling/gateway/v1/delivery.grpc.pb.h"
#include "support/free_port.h"

namespace flare {
namespace {

namespace dpb = ::signaling::gateway::v1;
using std::chrono::milliseconds;

// Waits (bounded) until `done` holds, looking every few milliseconds: for
// state another thread changes without a signal to wait on (the client's
// counters).
bool Eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Stands in for a gateway: records the sessions it is asked to kick, in
// order (test records are kicks: one session id each).
class KickedSessions final : public CommandReplies, public PushDelivery, public SessionKicks {
 public:
  void KickSession(uint64_t session_id, const std::string&) override {
    std::lock_guard lock(mu_);
    kicked_.push_back(session_id);
    cv_.notify_all();
  }
  void OnCommandDone(const ReplyAddress&, const CommandOutcome&) override {}
  void Deliver(std::span<const SessionPushes>) override {}
  void Notify(const std::vector<uint64_t>&, const std::shared_ptr<const SharedFrame>&) override {}

  // Waits (bounded) until `n` kicks arrived; returns them.
  std::vector<uint64_t> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(15), [&] { return kicked_.size() >= n; });
    return kicked_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint64_t> kicked_;
};

// A directory whose Find waits until opened, so records queue up before
// the client's first stream exists.
class GatedDirectory final : public GatewayDirectory {
 public:
  Status Announce(const std::string& id, const std::string& address, int64_t ttl_ms) override {
    return inner_.Announce(id, address, ttl_ms);
  }
  Result<std::string> Find(const std::string& id) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(15), [&] { return open_; });
    return inner_.Find(id);
  }
  Status Withdraw(const std::string& id) override { return inner_.Withdraw(id); }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  MemoryGatewayDirectory inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A delivery service that reads batches and never acknowledges them (a
// gateway that dies before handing them over).
class NoAckService final : public dpb::GatewayDeliveryService::Service {
 public:
  grpc::Status Deliver(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<dpb::DeliveryAck, dpb::DeliveryBatch>* stream) override {
    dpb::DeliveryBatch batch;
    while (stream->Read(&batch)) records_ += batch.records_size();
    return grpc::Status::OK;
  }
  std::atomic<int> records_{0};
};

std::string Kick(uint64_t session) { return EncodeInboxKick(session, "test"); }

class RpcGatewayDelivery : public ::testing::Test {
 protected:
  // Serves the delivery service of gateway `id` (received records go to
  // sink_) on port_ (a free one when not chosen yet), announced as `id`.
  void ServeGateway(const std::string& id, const std::string& announce_as = "") {
    dispatcher_ = std::make_unique<InboxDispatcher>(id, sink_, sink_, sink_, &received_);
    service_ = NewGatewayDeliveryGrpcService(*dispatcher_);
    Serve(service_.get(), announce_as.empty() ? id : announce_as);
  }
  void Serve(grpc::Service* service, const std::string& announce_as) {
    if (port_ == 0) port_ = testing::FreePort();
    std::string address = "127.0.0.1:" + std::to_string(port_);
    auto server = RpcServer::Start(address, {service});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(directory_.Announce(announce_as, address, 60'000).ok());
  }
  void StopServer() {
    server_->Shutdown(0);
    server_.reset();
  }

  GatewayDeliveryClientOptions options_;
  Counter lost_;
  Counter received_;
  MemoryGatewayDirectory directory_;
  KickedSessions sink_;
  std::unique_ptr<InboxDispatcher> dispatcher_;
  RpcServicePtr service_;
  int port_ = 0;
  std::unique_ptr<RpcServer> server_;
};

TEST_F(RpcGatewayDelivery, RecordsQueuedTogetherTravelInOneBatchInOrder) {
  GatedDirectory directory;
  dispatcher_ = std::make_unique<InboxDispatcher>("gw-a", sink_, sink_, sink_, &received_);
  service_ = NewGatewayDeliveryGrpcService(*dispatcher_);
  port_ = testing::FreePort();
  auto server = RpcServer::Start("127.0.0.1:" + std::to_string(port_), {service_.get()});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE(directory.Announce("gw-a", "127.0.0.1:" + std::to_string(port_), 60'000).ok());
  auto client = NewGatewayDeliveryClient(directory, &lost_, options_);

  for (uint64_t s = 1; s <= 5; ++s) client->Publish("gw-a", Kick(s), "a kick");
  directory.Open();
  EXPECT_EQ(sink_.WaitFor(5), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  ASSERT_TRUE(Eventually([&] { return client->stats().batches_acked == 1; }));
  GatewayDeliveryStats stats = client->stats();
  EXPECT_EQ(stats.streams_opened, 1u);
  EXPECT_EQ(stats.batches_written, 1u);
  EXPECT_EQ(stats.records_written, 5u);
  EXPECT_EQ(received_.Value(), 5);

  // Later records reuse the stream.
  client->Publish("gw-a", Kick(6), "a kick");
  EXPECT_EQ(sink_.WaitFor(6).back(), 6u);
  EXPECT_EQ(client->stats().streams_opened, 1u);
  client->Close(1'000);
  EXPECT_EQ(client->lost(), 0);
  (*server)->Shutdown(0);
}

TEST_F(RpcGatewayDelivery, ACommittedBatchsRecordsForEachGatewayLeaveInOneWrite) {
  ServeGateway("gw-a");
  auto client = NewGatewayDeliveryClient(directory_, &lost_, options_);
  client->Publish("gw-a", Kick(1), "a kick");  // opens the stream
  ASSERT_EQ(sink_.WaitFor(1).size(), 1u);
  ASSERT_TRUE(Eventually([&] { return client->stats().batches_acked == 1; }));
  {
    // As the storage writer does around a committed batch's outcomes and
    // pushes.
    InboxBatchScope batch;
    for (uint64_t s = 2; s <= 5; ++s) client->Publish("gw-a", Kick(s), "a kick");
    EXPECT_EQ(client->stats().records_written, 1u) << "held until the scope ends";
  }
  EXPECT_EQ(sink_.WaitFor(5), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  ASSERT_TRUE(Eventually([&] { return client->stats().batches_acked == 2; }));
  EXPECT_EQ(client->stats().batches_written, 2u);
  EXPECT_EQ(client->stats().records_written, 5u);
  client->Close(1'000);
}

TEST_F(RpcGatewayDelivery, ARestartedGatewayServerGetsTheUnacknowledgedBatchesAgain) {
  NoAckService dying;
  Serve(&dying, "gw-a");
  auto client = NewGatewayDeliveryClient(directory_, &lost_, options_);
  for (uint64_t s = 1; s <= 3; ++s) client->Publish("gw-a", Kick(s), "a kick");
  ASSERT_TRUE(Eventually([&] { return dying.records_.load() == 3; }));
  StopServer();

  ServeGateway("gw-a");  // same port, same gateway: a server that acks
  std::vector<uint64_t> kicked = sink_.WaitFor(3);
  EXPECT_EQ(kicked, (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_TRUE(Eventually([&] { return client->stats().batches_acked >= 1; }));
  EXPECT_GE(client->stats().batches_resent, 1u);
  EXPECT_GE(client->stats().streams_opened, 2u);
  EXPECT_EQ(client->lost(), 0);
  client->Close(1'000);
}

TEST_F(RpcGatewayDelivery, RecordsForAnUnknownGatewayAreDroppedAndCounted) {
  ServeGateway("gw-a");
  auto client = NewGatewayDeliveryClient(directory_, &lost_, options_);
  client->Publish("gw-nobody", Kick(1), "a kick");
  client->Publish("gw-nobody", Kick(2), "a kick");
  ASSERT_TRUE(Eventually([&] { return client->lost() == 2; }));
  EXPECT_EQ(lost_.Value(), 2);
  EXPECT_EQ(client->stats().gateways_forgotten, 1u);
  // The known gateway is served all the same.
  client->Publish("gw-a", Kick(3), "a kick");
  EXPECT_EQ(sink_.WaitFor(1), (std::vector<uint64_t>{3}));
  client->Close(1'000);
  EXPECT_EQ(client->lost(), 2);
}

TEST_F(RpcGatewayDelivery, AGatewayRefusesRecordsForAnotherIdAndTheSenderForgetsIt) {
  // A process that started since on the address gw-old announced.
  ServeGateway("gw-new", "gw-old");
  auto client = NewGatewayDeliveryClient(directory_, &lost_, options_);
  client->Publish("gw-old", Kick(1), "a kick");
  ASSERT_TRUE(Eventually([&] { return client->stats().gateways_forgotten == 1; }));
  EXPECT_EQ(client->lost(), 1);
  EXPECT_EQ(received_.Value(), 0);
  client->Close(1'000);
}

TEST_F(RpcGatewayDelivery, AFullQueueDropsAndCountsWithoutWaiting) {
  GatedDirectory directory;  // never opened: nothing leaves the queue
  options_.max_queued_records = 2;
  auto client = NewGatewayDeliveryClient(directory, &lost_, options_);
  for (uint64_t s = 1; s <= 3; ++s) client->Publish("gw-a", Kick(s), "a kick");
  EXPECT_EQ(client->lost(), 1);
  EXPECT_EQ(lost_.Value(), 1);
  directory.Open();  // the sender finds no gateway: the rest is dropped
  ASSERT_TRUE(Eventually([&] { return client->lost() == 3; }));
  client->Close(0);
}

}  // namespace
}  // namespace flare
