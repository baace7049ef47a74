// Sends per second through the message-orchestrator gRPC client to a
// server in the same process: the gateway's side of the Submit stream
// (queueing, batching, one stream write per batch) and the server's
// (decoding, one MessageService call per entry, the acceptances). The
// MessageService beneath only counts, so this measures the hop alone.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "rpc/common/rpc_server.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"

namespace flare {
namespace {

class CountingMessages final : public MessageService {
 public:
  Status Send(const Principal&, pb::SendRequest&, ReplyAddress) override { return Count(); }
  Status Group(const Principal&, pb::GroupRequest&, ReplyAddress) override { return Count(); }
  Status MessageOp(const Principal&, pb::MessageOpRequest&, ReplyAddress) override {
    return Count();
  }
  Status MoveCursor(const Principal&, const std::string&, int64_t, int64_t, ReplyAddress) override {
    return Count();
  }
  void WaitFor(uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }

 private:
  Status Count() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
    return Status::Ok();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t count_ = 0;
};

class NoReplies final : public CommandReplies {
 public:
  void OnCommandDone(const ReplyAddress&, const CommandOutcome&) override { ++answers; }
  std::atomic<uint64_t> answers{0};
};

void BM_SubmitSends(benchmark::State& state) {
  CountingMessages messages;
  RpcServicePtr service = NewMessageOrchestratorGrpcService(messages);
  auto server = RpcServer::Start("127.0.0.1:0", {service.get()});
  if (!server.ok()) {
    state.SkipWithError("cannot start the server");
    return;
  }
  NoReplies replies;
  MessageOrchestratorClientOptions o;
  o.max_batch = static_cast<size_t>(state.range(0));
  auto client = NewMessageOrchestratorGrpcClient(
      OpenRpcChannel("127.0.0.1:" + std::to_string((*server)->port())), RpcOptions{}, replies, o);
  Principal who{"t", "alice", "phone", "ios"};
  uint64_t sent = 0, queue_full = 0;
  for (auto _ : state) {
    pb::SendRequest request;
    request.set_peer_user_id("bob");
    request.set_client_msg_id("m" + std::to_string(sent));
    request.mutable_content()->set_text("hello");
    // A full queue is the client's backpressure: wait for room.
    while (!client->Send(who, request, ReplyAddress{"gw", sent + 1, "r"}).ok()) {
      ++queue_full;
      std::this_thread::yield();
    }
    ++sent;
  }
  messages.WaitFor(sent);  // every send reached the server
  // ... and its acceptance came back (else Close answers it UNAVAILABLE).
  while (client->stats().unanswered > 0) std::this_thread::yield();
  SubmitStreamStats stats = client->stats();
  client->Close();
  state.SetItemsProcessed(static_cast<int64_t>(sent));
  state.counters["batches"] = static_cast<double>(stats.batches_written);
  state.counters["queue_full"] = static_cast<double>(queue_full);
  state.counters["refused"] = static_cast<double>(replies.answers.load());
}
BENCHMARK(BM_SubmitSends)->Arg(64)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
