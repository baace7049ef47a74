// The simulated users of the direct and group scenarios, what they count,
// and the loop that drives their sends (flat out or paced).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_connection.h"
#include "common/result.h"
#include "flare/client/v1/client.pb.h"
#include "scenarios.h"
#include "server_probe.h"
#include "timeline.h"

namespace flare::bench {

namespace pb = ::flare::client::v1;
using Clock = std::chrono::steady_clock;

int64_t NowUs();
double CpuSeconds();  // this process, user + system
std::string SourceIp(size_t i);
uint16_t PortFor(const Options& o, size_t connection);
// The server's processes' stats, summed (ok if any was read).
Result<ProcStats> ServerStats(const Options& o);
// Timeline buckets: 100 ms, or 1 s for runs longer than two minutes.
Timeline MakeTimeline(const Options& o);

// Everything one simulated user does; callbacks run on its connection's
// thread (the fields that are not atomic are touched only there).
struct Peer {
  std::string user;
  std::shared_ptr<BenchConnection> conn;
  std::atomic<bool> authed{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> next_request{0};
  std::mutex mu;  // send times by request id
  std::unordered_map<int64_t, int64_t> sent_at_us;
  std::atomic<int64_t> acked{0}, received{0}, duplicates{0}, errors{0};
  std::atomic<int64_t> last_seq{0}, last_push_seq{0}, last_acked_seq{0};
  std::atomic<int64_t> pongs{0};
  std::string conversation;
  bool ack_timer_pending = false;
  int64_t advanced_to = 0;  // notify mode: the newest seq announced
  bool syncing = false;     // notify mode: a sync request is out
  Peer* partner = nullptr;
};

class Harness {
 public:
  // `first_index`: the index of this harness's first connection among all
  // (several processes may share one scenario), for its gateway.
  explicit Harness(const Options& o, size_t first_index = 0);
  ~Harness();

  // Pings every authenticated connection every `every_ms`, as a client app
  // does, so idle connections outlive the gateway's idle timeout.
  void KeepAlive(int64_t every_ms);
  // Pings every authenticated connection; counts those answering in time.
  int64_t CountAnswering(std::chrono::seconds timeout);
  Peer& Add(const std::string& user);
  bool ConnectAll();  // every peer, authenticated by its token at the handshake
  void Send(Peer& p, const std::string& conversation, bool to_peer_user,
            const std::string& peer_user);
  // Cumulative push acks: every ack_every messages, or `flush`.
  void MaybeAck(Peer& p, bool flush);

  // The measured window starts now: counts, latencies and the timeline
  // from here on (lost and duplicated messages still cover the whole run).
  void StartWindow();
  void Fill(Report& r, int64_t end_us);

  std::vector<std::unique_ptr<Peer>>& peers() { return peers_; }
  std::function<void(Peer&)> on_ack_;
  std::function<void(Peer&, const pb::ServerFrame&)> on_frame_;

 private:
  void OnFrame(Peer& p, std::string_view data);
  void Handle(Peer& p, const pb::ServerFrame& frame);
  void OnMessage(Peer& p, const pb::Message& m, int64_t now, bool pushed);
  void MaybeSync(Peer& p);
  void ArmAckTimer(Peer& p);
  void Record(Histogram& h, int64_t sent_at, int64_t now);

  const Options& o_;
  size_t first_index_;
  std::unique_ptr<IoThreads> io_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> window_start_us_{0};
  int64_t base_sent_ = 0, base_acked_ = 0, base_delivered_ = 0;
  std::mutex hist_mu_;
  Histogram ack_, delivery_;
  Timeline acked_series_, delivered_series_;
};

// CPU and memory of the server and of this process over the measured window.
class Measure {
 public:
  explicit Measure(const Options& o) : o_(o) {}
  void Start();
  void Finish(Report& r);
  int64_t end_us() const { return end_us_; }

 private:
  const Options& o_;
  bool started_ = false;
  ProcStats start_;
  double bench_cpu_ = 0;
  Clock::time_point t0_;
  int64_t end_us_ = 0;
};

// Sends for o.warmup_s + o.duration_s (calling `start_window` when the
// warm-up ends), then waits for the in-flight sends and their deliveries.
// With o.rate, message k is due at k / rate seconds from the start and goes
// to senders[k % senders]: every sender on its own schedule, the schedules
// offset from each other.
void Drive(Harness& h, const Options& o, const std::vector<Peer*>& senders,
           const std::function<void(Peer&)>& send_one, const std::function<bool()>& delivered_all,
           const std::function<void()>& start_window);

}  // namespace flare::bench
