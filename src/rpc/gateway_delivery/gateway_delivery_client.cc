// The sending side of signaling.gateway.v1.GatewayDeliveryService: a peer
// per gateway id with its queue, its batches not yet acknowledged and a
// sender thread that finds the gateway's address in the directory, opens
// one stream to it (reopened with backoff when it breaks) and writes
// everything queued as one DeliveryBatch per write; a reader thread per
// stream settles batches as their acks arrive.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "rpc/common/call_metadata.h"
#include "rpc/gateway_delivery/gateway_delivery_grpc.h"
#include "signaling/gateway/v1/delivery.grpc.pb.h"

namespace flare {
namespace {

namespace dpb = ::signaling::gateway::v1;
using Stream = grpc::ClientReaderWriter<dpb::DeliveryBatch, dpb::DeliveryAck>;

// A forgotten gateway's records are dropped at once for this long, so a
// burst for a dead gateway does not start a sender per record; then the
// directory is asked again (it may have been briefly unreachable or empty).
constexpr int64_t kTombstoneMs = 1'000;
// How long one wait for a channel to connect lasts before Close() and the
// forget deadline are looked at again.
constexpr auto kConnectSlice = std::chrono::milliseconds(100);

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A batch written (or to write again) and not yet acknowledged.
struct Sent {
  dpb::DeliveryBatch batch;
  bool resent = false;  // a second failure drops it
};

struct Peer {
  explicit Peer(std::string id) : gateway_id(std::move(id)) {}
  const std::string gateway_id;
  std::deque<std::string> queued;
  std::deque<std::shared_ptr<Sent>> unacked;  // on the current stream, oldest first
  std::deque<std::shared_ptr<Sent>> resend;   // first on the next stream
  uint64_t next_batch_id = 1;
  int64_t failing_since_ms = -1;           // -1: the stream works (or has not failed yet)
  bool broken = false;                     // the current stream ended
  int64_t forgotten_at_ms = -1;            // >= 0: the sender has ended; records are dropped
  grpc::ClientContext* context = nullptr;  // of the open stream, to cancel it
  std::condition_variable cv;
  std::thread thread;

  bool idle() const { return queued.empty() && unacked.empty() && resend.empty(); }
  int64_t pending_records() const {
    int64_t n = static_cast<int64_t>(queued.size());
    for (const auto& s : unacked) n += s->batch.records_size();
    for (const auto& s : resend) n += s->batch.records_size();
    return n;
  }
};

class GatewayDeliveryGrpcClient final : public GatewayDeliveryClient {
 public:
  GatewayDeliveryGrpcClient(GatewayDirectory& directory, Counter* lost,
                            GatewayDeliveryClientOptions options)
      : directory_(directory), options_(options), losses_(lost) {}

  ~GatewayDeliveryGrpcClient() override { Close(0); }

  // Inside an InboxBatchScope the records wait for the scope's end and are
  // queued together, so the sender finds them all at once.
  void Publish(const std::string& gateway_id, std::string record, const char* what) override {
    if (InboxBatchScope::Active()) return Hold(Held{gateway_id, std::move(record), what});
    std::vector<Held> one;
    one.push_back(Held{gateway_id, std::move(record), what});
    Enqueue(one);
  }

  void Close(int timeout_ms) override {
    std::unique_lock lock(mu_);
    if (closing_) return;
    drained_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (const auto& [id, peer] : peers_) {
        if (peer->forgotten_at_ms < 0 && !peer->idle()) return false;
      }
      return true;
    });
    closing_ = true;
    for (auto& [id, peer] : peers_) {
      if (peer->context != nullptr) peer->context->TryCancel();
      peer->cv.notify_all();
    }
    lock.unlock();
    for (auto& [id, peer] : peers_) {
      if (peer->thread.joinable()) peer->thread.join();
    }
    for (auto& [id, peer] : peers_) {
      if (int64_t n = peer->pending_records(); n > 0) {
        losses_.Lost(id, "records", Unavailable("the delivery client closed"), n);
      }
    }
  }

  GatewayDeliveryStats stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }

  int64_t lost() const override { return losses_.count(); }

 private:
  struct Held {
    std::string gateway_id;
    std::string record;
    const char* what;
  };

  void Hold(Held held) {
    std::vector<Held>& mine = held_[this];
    if (mine.empty()) {
      InboxBatchScope::Defer([this] {
        auto it = held_.find(this);
        if (it == held_.end()) return;
        std::vector<Held> records = std::move(it->second);
        held_.erase(it);
        Enqueue(records);
      });
    }
    mine.push_back(std::move(held));
  }

  // Never waits for the network: the storage writer's thread calls it.
  void Enqueue(std::vector<Held>& records) {
    std::vector<std::pair<const Held*, const char*>> lost;  // record, why
    {
      std::lock_guard lock(mu_);
      if (closing_) return;  // shutting down: the clients retry or sync
      for (Held& held : records) {
        Peer& peer = PeerLocked(held.gateway_id);
        if (peer.forgotten_at_ms >= 0) {
          lost.emplace_back(&held, "the gateway cannot be reached");
        } else if (peer.queued.size() >= options_.max_queued_records) {
          lost.emplace_back(&held, "the gateway's delivery queue is full");
        } else {
          peer.queued.push_back(std::move(held.record));
          peer.cv.notify_all();
        }
      }
    }
    for (const auto& [held, why] : lost)
      losses_.Lost(held->gateway_id, held->what, Unavailable(why));
  }

  // The peer of `gateway_id`, started on first use; a tombstone older than
  // kTombstoneMs is replaced by a new peer.
  Peer& PeerLocked(const std::string& gateway_id) {
    auto it = peers_.find(gateway_id);
    if (it != peers_.end() && it->second->forgotten_at_ms >= 0 &&
        SteadyNowMs() - it->second->forgotten_at_ms > kTombstoneMs) {
      it->second->thread.join();  // it has ended
      peers_.erase(it);
      it = peers_.end();
    }
    if (it == peers_.end()) {
      auto peer = std::make_unique<Peer>(gateway_id);
      Peer* raw = peer.get();
      it = peers_.emplace(gateway_id, std::move(peer)).first;
      raw->thread = std::thread([this, raw] { RunSender(*raw); });
    }
    return *it->second;
  }

  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& address) {
    std::lock_guard lock(mu_);
    auto& channel = channels_[address];
    if (!channel) channel = OpenRpcChannel(address);
    return channel;
  }

  // The sender thread of `peer`: until the client closes or the gateway is
  // forgotten.
  void RunSender(Peer& peer) {
    int failures = 0;
    for (;;) {
      auto address = directory_.Find(peer.gateway_id);
      if (!address.ok() && address.status().code() == Code::kNotFound) {
        return Forget(peer, address.status());
      }
      bool worked = false;
      bool gone = false;
      if (address.ok()) {
        auto channel = ChannelFor(*address);
        if (WaitForChannel(peer, *channel)) worked = RunStream(peer, channel, gone);
      }
      if (gone) return Forget(peer, NotFound("another gateway answers at " + *address));
      std::unique_lock lock(mu_);
      if (closing_) return;
      int64_t now = SteadyNowMs();
      if (worked) failures = 0;
      if (peer.failing_since_ms < 0) peer.failing_since_ms = now;
      if (now - peer.failing_since_ms >= options_.forget_after_ms) {
        lock.unlock();
        return Forget(peer, address.ok() ? Unavailable("the stream to " + *address + " failed")
                                         : address.status());
      }
      int64_t backoff = options_.initial_backoff_ms << std::min(failures++, 16);
      peer.cv.wait_for(lock, std::chrono::milliseconds(std::min(backoff, options_.max_backoff_ms)),
                       [&] { return closing_; });
      if (closing_) return;
    }
  }

  // Until `channel` is connected (true), the client closes or the forget
  // deadline passes (false): a stream opened on a channel that is not
  // fails at once.
  bool WaitForChannel(Peer& peer, grpc::Channel& channel) {
    for (;;) {
      if (channel.WaitForConnected(std::chrono::system_clock::now() + kConnectSlice)) {
        // Reachable again: a later break starts a new forget deadline
        // (an idle stream gets no acks to reset it).
        std::lock_guard lock(mu_);
        peer.failing_since_ms = -1;
        return true;
      }
      std::lock_guard lock(mu_);
      if (closing_) return false;
      int64_t now = SteadyNowMs();
      if (peer.failing_since_ms < 0) peer.failing_since_ms = now;
      if (now - peer.failing_since_ms >= options_.forget_after_ms) return false;
    }
  }

  // One stream, until it breaks or the client closes; whether any batch
  // was acknowledged on it.
  // A stream the server ended NOT_FOUND reached another gateway (the one
  // sought has gone): `gone` is set.
  bool RunStream(Peer& peer, const std::shared_ptr<grpc::Channel>& channel, bool& gone) {
    auto stub = dpb::GatewayDeliveryService::NewStub(channel);
    grpc::ClientContext context;
    rpc::AttachCallMetadata(context, Principal{}, TraceContext{});
    {
      std::lock_guard lock(mu_);
      if (closing_) return false;
      peer.context = &context;
      peer.broken = false;
      ++stats_.streams_opened;
    }
    std::unique_ptr<Stream> stream = stub->Deliver(&context);
    bool acked = false;
    std::thread reader([&] { acked = ReadAcks(peer, *stream); });
    WriteBatches(peer, *stream);
    bool broken;
    {
      std::lock_guard lock(mu_);
      broken = peer.broken;
    }
    if (!broken) context.TryCancel();  // ends the reader's Read
    reader.join();
    grpc::Status status = stream->Finish();
    gone = status.error_code() == grpc::StatusCode::NOT_FOUND;
    std::lock_guard lock(mu_);
    peer.context = nullptr;
    int64_t dropped = 0;
    // Written batches not acknowledged go again, once, ahead of those
    // still waiting for their second chance.
    for (auto it = peer.unacked.rbegin(); it != peer.unacked.rend(); ++it) {
      if ((*it)->resent) {
        dropped += (*it)->batch.records_size();
        continue;
      }
      (*it)->resent = true;
      peer.resend.push_front(*it);
    }
    peer.unacked.clear();
    if (!closing_) {
      spdlog::warn("gateway delivery to {} broke: {} ({}); {} batch(es) to resend", peer.gateway_id,
                   status.error_message(), static_cast<int>(status.error_code()),
                   peer.resend.size());
    }
    if (dropped > 0) {
      losses_.Lost(peer.gateway_id, "records", Unavailable("a resent batch failed again"), dropped);
    }
    return acked;
  }

  // The sender thread on an open stream: one stream message per write,
  // batches to resend first.
  void WriteBatches(Peer& peer, Stream& stream) {
    for (;;) {
      std::shared_ptr<Sent> sent;
      {
        std::unique_lock lock(mu_);
        peer.cv.wait(lock, [&] {
          return closing_ || peer.broken || !peer.resend.empty() || !peer.queued.empty();
        });
        if (closing_ || peer.broken) return;
        sent = TakeBatchLocked(peer);
        peer.unacked.push_back(sent);
        ++stats_.batches_written;
        stats_.records_written += sent->batch.records_size();
        if (sent->resent) ++stats_.batches_resent;
      }
      if (!stream.Write(sent->batch)) return;
    }
  }

  std::shared_ptr<Sent> TakeBatchLocked(Peer& peer) {
    if (!peer.resend.empty()) {
      auto sent = peer.resend.front();
      peer.resend.pop_front();
      sent->batch.set_batch_id(peer.next_batch_id++);
      return sent;
    }
    auto sent = std::make_shared<Sent>();
    sent->batch.set_batch_id(peer.next_batch_id++);
    sent->batch.set_gateway_id(peer.gateway_id);
    size_t bytes = 0;
    // At least one record, however big (the codec keeps records small).
    while (!peer.queued.empty() &&
           (bytes == 0 || bytes + peer.queued.front().size() <= options_.max_batch_bytes)) {
      bytes += peer.queued.front().size();
      sent->batch.add_records(std::move(peer.queued.front()));
      peer.queued.pop_front();
    }
    return sent;
  }

  // The reader thread of a stream: settles batches by their acks until the
  // stream ends, then wakes the sender.
  bool ReadAcks(Peer& peer, Stream& stream) {
    bool any = false;
    dpb::DeliveryAck ack;
    while (stream.Read(&ack)) {
      any = true;
      std::lock_guard lock(mu_);
      peer.failing_since_ms = -1;
      while (!peer.unacked.empty() && peer.unacked.front()->batch.batch_id() <= ack.batch_id()) {
        peer.unacked.pop_front();
        ++stats_.batches_acked;
      }
      if (peer.idle()) drained_cv_.notify_all();
    }
    {
      std::lock_guard lock(mu_);
      peer.broken = true;
    }
    peer.cv.notify_all();
    return any;
  }

  // Drops everything for `peer` and ends its sender; later records for it
  // are dropped until the tombstone expires.
  void Forget(Peer& peer, const Status& why) {
    int64_t dropped;
    {
      std::lock_guard lock(mu_);
      dropped = peer.pending_records();
      peer.queued.clear();
      peer.unacked.clear();
      peer.resend.clear();
      peer.forgotten_at_ms = SteadyNowMs();
      ++stats_.gateways_forgotten;
    }
    drained_cv_.notify_all();
    spdlog::info("gateway delivery: gateway {} forgotten: {}", peer.gateway_id, why.ToString());
    if (dropped > 0) losses_.Lost(peer.gateway_id, "records", why, dropped);
  }

  GatewayDirectory& directory_;
  const GatewayDeliveryClientOptions options_;
  InboxLosses losses_;
  mutable std::mutex mu_;
  std::condition_variable drained_cv_;
  bool closing_ = false;
  std::map<std::string, std::unique_ptr<Peer>> peers_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  GatewayDeliveryStats stats_;
  // This thread's records held until its InboxBatchScope ends, per client.
  static thread_local std::map<const GatewayDeliveryGrpcClient*, std::vector<Held>> held_;
};

thread_local std::map<const GatewayDeliveryGrpcClient*,
                      std::vector<GatewayDeliveryGrpcClient::Held>>
    GatewayDeliveryGrpcClient::held_;

}  // namespace

std::unique_ptr<GatewayDeliveryClient> NewGatewayDeliveryClient(
    GatewayDirectory& directory, Counter* lost, GatewayDeliveryClientOptions options) {
  return std::make_unique<GatewayDeliveryGrpcClient>(directory, lost, options);
}

}  // namespace flare
