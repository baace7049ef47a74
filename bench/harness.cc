#include "harness.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>
#include <thread>

#include "sampler.h"
#include "services/signaling/online/token.h"

namespace flare::bench {
namespace {

std::string Token(const Options& o, const std::string& user) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto token = TokenSigner(o.secret).Issue({"default", user, "bench", "bench", 0}, now, 86400);
  return token.ok() ? *token : "";
}

std::shared_ptr<const std::string> Bytes(const pb::ClientFrame& frame) {
  return std::make_shared<const std::string>(frame.SerializeAsString());
}

// Request ids of sync requests start with 's' (sends use numbers).
bool IsSyncRequest(const std::string& id) { return !id.empty() && id[0] == 's'; }

}  // namespace

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string SourceIp(size_t i) { return "127.0.0." + std::to_string(2 + i % 200); }

uint16_t PortFor(const Options& o, size_t connection) {
  return o.ports[connection % o.ports.size()];
}

Result<ProcStats> ServerStats(const Options& o) {
  ProcStats sum;
  bool any = false;
  for (pid_t pid : o.server_pids) {
    auto s = ReadProcStats(pid);
    if (!s.ok()) continue;
    sum.cpu_seconds += s->cpu_seconds;
    sum.rss_bytes += s->rss_bytes;
    any = true;
  }
  if (!any) return NotFound("no server process to read");
  return sum;
}

Timeline MakeTimeline(const Options& o) {
  double span_s = o.warmup_s + o.duration_s + 60;  // the drain and some
  int64_t bucket_us = o.duration_s > 120 ? 1'000'000 : 100'000;
  return Timeline(bucket_us, static_cast<size_t>(span_s * 1e6 / static_cast<double>(bucket_us)));
}

Harness::Harness(const Options& o, size_t first_index)
    : o_(o),
      first_index_(first_index),
      io_(IoThreads::Create(o.threads)),
      acked_series_(MakeTimeline(o)),
      delivered_series_(MakeTimeline(o)) {}

Harness::~Harness() { io_->Stop(); }

// Runs on the I/O thread while ConnectAll waits: it reads a peer's `conn`
// only once the peer is authenticated, which is after ConnectAll assigned it.
void Harness::KeepAlive(int64_t every_ms) {
  io_->After(every_ms, [this, every_ms] {
    pb::ClientFrame frame;
    frame.mutable_ping()->set_client_time_ms(NowUs() / 1000);
    auto bytes = Bytes(frame);
    for (auto& p : peers_) {
      if (p->authed && p->conn) p->conn->Send(bytes);
    }
    KeepAlive(every_ms);
  });
}

int64_t Harness::CountAnswering(std::chrono::seconds timeout) {
  std::vector<std::pair<Peer*, int64_t>> asked;
  pb::ClientFrame frame;
  frame.mutable_ping()->set_client_time_ms(NowUs() / 1000);
  auto bytes = Bytes(frame);
  for (auto& p : peers_) {
    if (!p->authed || !p->conn) continue;
    asked.emplace_back(p.get(), p->pongs.load());
    p->conn->Send(bytes);
  }
  auto answered = [&] {
    int64_t n = 0;
    for (auto& [p, before] : asked) n += p->pongs.load() > before ? 1 : 0;
    return n;
  };
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && answered() < static_cast<int64_t>(asked.size())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return answered();
}

Peer& Harness::Add(const std::string& user) {
  peers_.push_back(std::make_unique<Peer>());
  peers_.back()->user = o_.user_prefix + user;
  return *peers_.back();
}

bool Harness::ConnectAll() {
  std::atomic<int64_t> failed{0};
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer* p = peers_[i].get();
    p->conn = io_->NewConnection();
    p->conn->Start(
        SourceIp(i), o_.host, PortFor(o_, first_index_ + i), "/ws?token=" + Token(o_, p->user),
        [this, p](std::string_view data) { OnFrame(*p, data); },
        [&failed, p](bool ok, const std::string& error) {
          if (!ok) {
            ++failed;
            ++p->errors;
            std::fprintf(stderr, "connect %s: %s\n", p->user.c_str(), error.c_str());
          }
        });
  }
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o_.connect_timeout_s));
  while (Clock::now() < deadline) {
    size_t ready = 0;
    for (auto& p : peers_) ready += p->authed ? 1 : 0;
    if (ready + static_cast<size_t>(failed.load()) >= peers_.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return failed == 0;
}

void Harness::Send(Peer& p, const std::string& conversation, bool to_peer_user,
                   const std::string& peer_user) {
  int64_t id = ++p.next_request;
  int64_t now = NowUs();
  pb::ClientFrame frame;
  frame.set_request_id(std::to_string(id));
  auto* send = frame.mutable_send();
  send->set_client_msg_id(p.user + "-" + std::to_string(id));
  if (to_peer_user)
    send->set_peer_user_id(peer_user);
  else
    send->set_conversation_id(conversation);
  std::string data(std::max(8, o_.payload), 'x');
  std::memcpy(data.data(), &now, sizeof now);
  send->mutable_content()->set_data(std::move(data));
  {
    std::lock_guard lock(p.mu);
    p.sent_at_us[id] = now;
  }
  ++p.in_flight;
  ++sent_;
  p.conn->Send(Bytes(frame));
}

void Harness::OnFrame(Peer& p, std::string_view data) {
  pb::ServerFrame frame;
  if (!frame.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    ++p.errors;
    return;
  }
  if (frame.batch_size() > 0) {
    for (const auto& inner : frame.batch()) Handle(p, inner);
  } else {
    Handle(p, frame);
  }
  MaybeAck(p, false);
  ArmAckTimer(p);
}

void Harness::Handle(Peer& p, const pb::ServerFrame& frame) {
  int64_t now = NowUs();
  if (frame.has_auth_result()) {
    p.authed = true;
  } else if (frame.has_pong()) {
    ++p.pongs;
  } else if (frame.has_send_ack()) {
    int64_t id = std::stoll(frame.request_id());
    int64_t at;
    {
      std::lock_guard lock(p.mu);
      at = p.sent_at_us[id];
      p.sent_at_us.erase(id);
    }
    Record(ack_, at, now);
    acked_series_.Add(now);
    ++p.acked;
    --p.in_flight;
    if (on_ack_) on_ack_(p);
  } else if (frame.has_push()) {
    for (const auto& m : frame.push().messages()) OnMessage(p, m, now, true);
  } else if (frame.has_advanced()) {
    p.conversation = frame.advanced().conversation_id();
    p.advanced_to = std::max(p.advanced_to, frame.advanced().max_seq());
    MaybeSync(p);
  } else if (frame.has_sync_result()) {
    p.syncing = false;
    for (const auto& m : frame.sync_result().messages()) OnMessage(p, m, now, false);
    if (frame.sync_result().has_more()) p.advanced_to = std::max(p.advanced_to, p.last_seq + 1);
    MaybeSync(p);
  } else if (frame.has_error()) {
    ++p.errors;
    if (IsSyncRequest(frame.request_id())) {
      p.syncing = false;
    } else if (!frame.request_id().empty()) {
      --p.in_flight;
    }
  }
  if (on_frame_) on_frame_(p, frame);
}

void Harness::OnMessage(Peer& p, const pb::Message& m, int64_t now, bool pushed) {
  if (m.seq() <= p.last_seq) {
    ++p.duplicates;
    return;
  }
  p.last_seq = m.seq();
  if (pushed) p.last_push_seq = m.seq();
  p.conversation = m.conversation_id();
  // A sync also returns this user's own messages, which a push never does.
  if (m.type() == pb::MESSAGE_TYPE_EVENT || m.sender() == p.user) return;
  ++p.received;
  delivered_series_.Add(now);
  int64_t sent_at = 0;
  if (m.content().data().size() >= sizeof sent_at) {
    std::memcpy(&sent_at, m.content().data().data(), sizeof sent_at);
    Record(delivery_, sent_at, now);
  }
}

// Notify mode (groups above groups.large_group_threshold): an `advanced`
// notice says the conversation moved; the member pulls with sync, one
// request at a time, until it has everything announced.
void Harness::MaybeSync(Peer& p) {
  if (p.syncing || p.advanced_to <= p.last_seq) return;
  p.syncing = true;
  pb::ClientFrame frame;
  frame.set_request_id("s" + std::to_string(p.last_seq));
  frame.mutable_sync()->set_conversation_id(p.conversation);
  frame.mutable_sync()->set_after_seq(p.last_seq);
  p.conn->Send(Bytes(frame));
}

void Harness::MaybeAck(Peer& p, bool flush) {
  int64_t seq = p.last_push_seq;
  if (seq <= p.last_acked_seq || (!flush && seq - p.last_acked_seq < o_.ack_every)) return;
  p.last_acked_seq = seq;
  pb::ClientFrame frame;
  frame.mutable_push_ack()->set_conversation_id(p.conversation);
  frame.mutable_push_ack()->set_seq(seq);
  p.conn->Send(Bytes(frame));
}

// Acks what is still unacked after ack_delay_ms, as a client app does, so
// at low rates the server does not resend pushes that were received.
void Harness::ArmAckTimer(Peer& p) {
  if (o_.ack_delay_ms <= 0 || p.ack_timer_pending || p.last_push_seq <= p.last_acked_seq) return;
  p.ack_timer_pending = true;
  p.conn->After(o_.ack_delay_ms, [this, &p] {
    p.ack_timer_pending = false;
    MaybeAck(p, true);
  });
}

void Harness::Record(Histogram& h, int64_t sent_at, int64_t now) {
  auto us = static_cast<uint64_t>(std::max<int64_t>(0, now - sent_at));
  if (o_.sampler != nullptr) {
    &h == &ack_ ? o_.sampler->RecordAck(us) : o_.sampler->RecordDelivery(us);
  }
  if (sent_at < window_start_us_.load(std::memory_order_relaxed)) return;  // warm-up
  std::lock_guard lock(hist_mu_);
  h.Record(us);
}

void Harness::StartWindow() {
  std::lock_guard lock(hist_mu_);
  int64_t now = NowUs();
  window_start_us_ = now;
  ack_ = Histogram();
  delivery_ = Histogram();
  acked_series_.Start(now);
  delivered_series_.Start(now);
  base_sent_ = sent_;
  base_acked_ = base_delivered_ = 0;
  for (auto& p : peers_) {
    base_acked_ += p->acked;
    base_delivered_ += p->received;
  }
}

void Harness::Fill(Report& r, int64_t end_us) {
  std::lock_guard lock(hist_mu_);
  r.ack_latency = ack_;
  r.delivery_latency = delivery_;
  r.connections = static_cast<int64_t>(peers_.size());
  r.sent = sent_ - base_sent_;
  r.acked = -base_acked_;
  r.delivered = -base_delivered_;
  for (auto& p : peers_) {
    r.acked += p->acked;
    r.delivered += p->received;
    r.errors += p->errors;
    r.duplicated += p->duplicates;
  }
  r.bucket_ms = acked_series_.bucket_us() / 1000;
  r.acked_series = acked_series_.Counts(end_us);
  r.delivered_series = delivered_series_.Counts(end_us);
}

void Measure::Start() {
  if (auto s = ServerStats(o_); s.ok()) start_ = *s;
  bench_cpu_ = CpuSeconds();
  t0_ = Clock::now();
  started_ = true;
}

void Measure::Finish(Report& r) {
  if (!started_) Start();
  auto now = Clock::now();
  end_us_ = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  r.duration_s = std::chrono::duration<double>(now - t0_).count();
  r.bench_cpu_s = CpuSeconds() - bench_cpu_;
  if (auto s = ServerStats(o_); s.ok()) {
    r.server_known = true;
    r.server_cpu_s = s->cpu_seconds - start_.cpu_seconds;
    r.server_rss = s->rss_bytes;
  }
}

namespace {

// When a message due at `due` leaves: then, or at the tick that follows.
Clock::time_point TickAt(const Options& o, Clock::time_point start, Clock::time_point due) {
  if (o.pace_tick_us <= 0) return due;
  const auto tick = std::chrono::microseconds(o.pace_tick_us);
  auto ticks = (due - start + tick - Clock::duration(1)) / tick;
  return start + ticks * tick;
}

// Message k is due at start + k / rate; each goes out at its own due time
// (late ones at once, so a stall is caught up rather than skipped), or with
// o.pace_tick_us at the first tick at or after it.
void Pace(const Options& o, const std::vector<Peer*>& senders,
          const std::function<void(Peer&)>& send_one, Clock::time_point start,
          Clock::time_point window_at, Clock::time_point deadline,
          const std::function<void()>& start_window) {
  // The default 50 us timer slack would bunch sends that are ~100 us apart.
  int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // ns
  const double interval_s = 1.0 / static_cast<double>(o.rate);
  bool window_started = false;
  for (uint64_t k = 0;; ++k) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(k) * interval_s));
    if (due >= deadline) break;
    if (!window_started && due >= window_at) {
      start_window();
      window_started = true;
    }
    if (due > Clock::now()) std::this_thread::sleep_until(TickAt(o, start, due));
    send_one(*senders[k % senders.size()]);
  }
  if (!window_started) start_window();
  if (old_slack > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0, 0, 0);
}

}  // namespace

void Drive(Harness& h, const Options& o, const std::vector<Peer*>& senders,
           const std::function<void(Peer&)>& send_one, const std::function<bool()>& delivered_all,
           const std::function<void()>& start_window) {
  std::atomic<bool> running{true};
  auto start = Clock::now();
  auto window_at = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.warmup_s));
  auto deadline = window_at + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o.duration_s));
  if (o.rate == 0) {
    h.on_ack_ = [&](Peer& p) {
      if (running) send_one(p);
    };
    if (o.warmup_s <= 0) start_window();
    for (Peer* p : senders) {
      for (int i = 0; i < o.window; ++i) send_one(*p);
    }
    if (o.warmup_s > 0) {
      std::this_thread::sleep_until(window_at);
      start_window();
    }
    std::this_thread::sleep_until(deadline);
  } else {
    Pace(o, senders, send_one, start, window_at, deadline, start_window);
  }
  running = false;
  auto drain = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < drain) {
    int64_t in_flight = 0;
    for (Peer* p : senders) in_flight += p->in_flight;
    if (in_flight <= 0 && delivered_all()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& p : h.peers()) h.MaybeAck(*p, true);
}

}  // namespace flare::bench
