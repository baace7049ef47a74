#include "scenarios.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_connection.h"
#include "flare/client/v1/client.pb.h"
#include "server_probe.h"
#include "services/signaling/online/token.h"

namespace flare::bench {
namespace {

namespace pb = ::flare::client::v1;
using Clock = std::chrono::steady_clock;

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

std::string Token(const Options& o, const std::string& user) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto token = TokenSigner(o.secret).Issue({"default", user, "bench", "bench", 0}, now, 86400);
  return token.ok() ? *token : "";
}

std::string SourceIp(size_t i) { return "127.0.0." + std::to_string(2 + i % 200); }

uint16_t PortFor(const Options& o, size_t connection) {
  return o.ports[connection % o.ports.size()];
}

// The server's processes' stats, summed (ok if any was read).
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

// Everything one simulated user does; callbacks run on its connection's thread.
struct Peer {
  std::string user;
  std::shared_ptr<BenchConnection> conn;
  std::atomic<bool> authed{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> next_request{0};
  std::mutex mu;  // send times by request id
  std::unordered_map<int64_t, int64_t> sent_at_us;
  std::atomic<int64_t> acked{0}, received{0}, duplicates{0}, errors{0};
  std::atomic<int64_t> last_seq{0}, last_acked_seq{0};
  std::atomic<int64_t> pongs{0};
  std::string conversation;
  Peer* partner = nullptr;
};

class Harness {
 public:
  // `first_index`: the index of this harness's first connection among all
  // (several processes may share one scenario), for its gateway.
  explicit Harness(const Options& o, size_t first_index = 0)
      : o_(o), first_index_(first_index), io_(IoThreads::Create(o.threads)) {}
  ~Harness() { io_->Stop(); }

  // Sends every authenticated connection a ping every `every_ms`, as a
  // client app does, so idle connections outlive gateway.idle_timeout_ms
  // (90 s by default) however long connecting the rest takes. Runs on the
  // I/O thread while ConnectAll waits: it reads a peer's `conn` only once
  // the peer is authenticated, which is after ConnectAll assigned it.
  void KeepAlive(int64_t every_ms) {
    io_->After(every_ms, [this, every_ms] {
      pb::ClientFrame frame;
      frame.mutable_ping()->set_client_time_ms(NowUs() / 1000);
      auto bytes = std::make_shared<const std::string>(frame.SerializeAsString());
      for (auto& p : peers_) {
        if (p->authed && p->conn) p->conn->Send(bytes);
      }
      KeepAlive(every_ms);
    });
  }

  // Pings every authenticated connection and counts those that answer
  // within `timeout`: the connections open at this moment (a gateway may
  // have closed some after their login).
  int64_t CountAnswering(std::chrono::seconds timeout) {
    std::vector<std::pair<Peer*, int64_t>> asked;
    pb::ClientFrame frame;
    frame.mutable_ping()->set_client_time_ms(NowUs() / 1000);
    auto bytes = std::make_shared<const std::string>(frame.SerializeAsString());
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

  Peer& Add(const std::string& user) {
    peers_.push_back(std::make_unique<Peer>());
    peers_.back()->user = o_.user_prefix + user;
    return *peers_.back();
  }

  // Connects every peer (authenticated by its token at the handshake).
  bool ConnectAll() {
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

  void Send(Peer& p, const std::string& conversation, bool to_peer_user,
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
    p.conn->Send(std::make_shared<const std::string>(frame.SerializeAsString()));
  }

  void OnFrame(Peer& p, std::string_view data) {
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
  }

  void Handle(Peer& p, const pb::ServerFrame& frame) {
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
      Record(ack_, now - at);
      ++p.acked;
      --p.in_flight;
      if (on_ack_) on_ack_(p);
    } else if (frame.has_push()) {
      for (const auto& m : frame.push().messages()) OnMessage(p, m, now);
    } else if (frame.has_error()) {
      ++p.errors;
      if (!frame.request_id().empty()) --p.in_flight;
    }
    if (on_frame_) on_frame_(p, frame);
  }

  void OnMessage(Peer& p, const pb::Message& m, int64_t now) {
    if (m.seq() <= p.last_seq) {
      ++p.duplicates;
      return;
    }
    p.last_seq = m.seq();
    p.conversation = m.conversation_id();
    if (m.type() == pb::MESSAGE_TYPE_EVENT) return;
    ++p.received;
    int64_t sent_at = 0;
    if (m.content().data().size() >= sizeof sent_at) {
      std::memcpy(&sent_at, m.content().data().data(), sizeof sent_at);
      Record(delivery_, now - sent_at);
    }
  }

  // Cumulative push acks, at most one per 32 messages (and on a final flush).
  void MaybeAck(Peer& p, bool flush) {
    int64_t seq = p.last_seq;
    if (seq <= p.last_acked_seq || (!flush && seq - p.last_acked_seq < 32)) return;
    p.last_acked_seq = seq;
    pb::ClientFrame frame;
    frame.mutable_push_ack()->set_conversation_id(p.conversation);
    frame.mutable_push_ack()->set_seq(seq);
    p.conn->Send(std::make_shared<const std::string>(frame.SerializeAsString()));
  }

  void Record(Histogram& h, int64_t us) {
    std::lock_guard lock(hist_mu_);
    h.Record(static_cast<uint64_t>(std::max<int64_t>(0, us)));
  }

  std::vector<std::unique_ptr<Peer>>& peers() { return peers_; }
  IoThreads& io() { return *io_; }
  std::function<void(Peer&)> on_ack_;
  std::function<void(Peer&, const pb::ServerFrame&)> on_frame_;
  std::atomic<int64_t> sent_{0};

  void Fill(Report& r) {
    std::lock_guard lock(hist_mu_);
    r.ack_latency = ack_;
    r.delivery_latency = delivery_;
    r.connections = static_cast<int64_t>(peers_.size());
    r.sent = sent_;
    for (auto& p : peers_) {
      r.acked += p->acked;
      r.delivered += p->received;
      r.errors += p->errors;
      r.duplicated += p->duplicates;
    }
  }

 private:
  const Options& o_;
  size_t first_index_;
  std::unique_ptr<IoThreads> io_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::mutex hist_mu_;
  Histogram ack_, delivery_;
};

struct Measure {
  explicit Measure(const Options& o) : o_(o) {
    if (auto s = ServerStats(o); s.ok()) start_ = *s;
    bench_cpu_ = CpuSeconds();
    t0_ = Clock::now();
  }
  void Finish(Report& r) {
    r.duration_s = std::chrono::duration<double>(Clock::now() - t0_).count();
    r.bench_cpu_s = CpuSeconds() - bench_cpu_;
    if (auto s = ServerStats(o_); s.ok()) {
      r.server_cpu_s = s->cpu_seconds - start_.cpu_seconds;
      r.server_rss = s->rss_bytes;
    }
  }
  const Options& o_;
  ProcStats start_;
  double bench_cpu_;
  Clock::time_point t0_;
};

// Runs the send loop until the duration ends, then waits for the
// in-flight sends and their deliveries.
void Drive(Harness& h, const Options& o, const std::vector<Peer*>& senders,
           const std::function<void(Peer&)>& send_one, const std::function<bool()>& delivered_all) {
  std::atomic<bool> running{true};
  auto deadline = Clock::now() + std::chrono::duration<double>(o.duration_s);
  if (o.rate == 0) {
    h.on_ack_ = [&](Peer& p) {
      if (running) send_one(p);
    };
    for (Peer* p : senders) {
      for (int i = 0; i < o.window; ++i) send_one(*p);
    }
    std::this_thread::sleep_until(deadline);
  } else {
    // Spread `rate` over the senders in 1 ms ticks.
    double per_tick = static_cast<double>(o.rate) / 1000.0;
    double owed = 0;
    size_t next = 0;
    auto tick = Clock::now();
    while (Clock::now() < deadline) {
      owed += per_tick;
      while (owed >= 1) {
        send_one(*senders[next++ % senders.size()]);
        owed -= 1;
      }
      tick += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(tick);
    }
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

}  // namespace

Report RunDirect(const Options& o) {
  Harness h(o);
  std::vector<Peer*> all;
  for (int i = 0; i < o.clients; ++i) {
    Peer& a = h.Add("a" + std::to_string(i));
    Peer& b = h.Add("b" + std::to_string(i));
    a.partner = &b;
    b.partner = &a;
  }
  for (auto& p : h.peers()) all.push_back(p.get());
  Report r;
  r.scenario = "direct";
  if (!h.ConnectAll()) ++r.errors;
  Measure m(o);
  Drive(
      h, o, all, [&](Peer& p) { h.Send(p, "", true, p.partner->user); },
      [&] {
        for (Peer* p : all) {
          if (p->received < p->partner->acked) return false;
        }
        return true;
      });
  m.Finish(r);
  h.Fill(r);
  for (Peer* p : all) r.lost += std::max<int64_t>(0, p->partner->acked - p->received);
  return r;
}

Report RunGroup(const Options& o) {
  Harness h(o);
  for (int i = 0; i < o.members; ++i) h.Add("m" + std::to_string(i));
  Report r;
  r.scenario = "group";
  if (!h.ConnectAll()) ++r.errors;
  // Member 0 creates the group with everyone in it.
  std::atomic<bool> created{false};
  std::string conversation;
  std::mutex mu;
  h.on_frame_ = [&](Peer&, const pb::ServerFrame& f) {
    if (!f.has_group_result()) return;
    std::lock_guard lock(mu);
    conversation = f.group_result().info().conversation_id();
    created = true;
  };
  pb::ClientFrame create;
  create.set_request_id("create");
  create.mutable_group()->mutable_create()->mutable_settings()->set_name("bench");
  for (int i = 1; i < o.members; ++i)
    create.mutable_group()->mutable_create()->add_member_ids(h.peers()[i]->user);
  h.peers()[0]->conn->Send(std::make_shared<const std::string>(create.SerializeAsString()));
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!created && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!created) {
    ++r.errors;
    return r;
  }
  h.on_frame_ = nullptr;
  std::vector<Peer*> senders;
  for (int i = 0; i < std::min(o.clients, o.members); ++i) senders.push_back(h.peers()[i].get());
  Measure m(o);
  auto expected = [&](Peer& p) {
    int64_t total = 0;
    for (Peer* s : senders) total += s->acked;
    return total - p.acked;  // everyone else's messages
  };
  Drive(
      h, o, senders, [&](Peer& p) { h.Send(p, conversation, false, ""); },
      [&] {
        for (auto& p : h.peers()) {
          if (p->received < expected(*p)) return false;
        }
        return true;
      });
  m.Finish(r);
  h.Fill(r);
  for (auto& p : h.peers()) r.lost += std::max<int64_t>(0, expected(*p) - p->received);
  return r;
}

Report RunEcho(const Options& o) {
  auto io = IoThreads::Create(o.threads);
  struct EchoConn {
    std::shared_ptr<BenchConnection> conn;
    std::atomic<bool> open{false};
  };
  std::vector<std::unique_ptr<EchoConn>> conns;
  std::mutex hist_mu;
  Histogram rtt;
  std::atomic<int64_t> echoed{0}, errors{0}, sent{0};
  std::atomic<bool> running{true};
  std::string payload(std::max(8, o.payload), 'e');
  auto send = [&](EchoConn& c) {
    int64_t now = NowUs();
    auto bytes = std::make_shared<std::string>(payload);
    std::memcpy(bytes->data(), &now, sizeof now);
    ++sent;
    c.conn->Send(bytes);
  };
  for (int i = 0; i < o.clients; ++i) {
    auto c = std::make_unique<EchoConn>();
    c->conn = io->NewConnection();
    EchoConn* raw = c.get();
    c->conn->Start(
        SourceIp(static_cast<size_t>(i)), o.host, PortFor(o, static_cast<size_t>(i)), "/ws",
        [&, raw](std::string_view data) {
          int64_t at = 0;
          if (data.size() >= sizeof at) std::memcpy(&at, data.data(), sizeof at);
          {
            std::lock_guard lock(hist_mu);
            rtt.Record(static_cast<uint64_t>(std::max<int64_t>(0, NowUs() - at)));
          }
          ++echoed;
          if (running) send(*raw);
        },
        [&, raw](bool ok, const std::string& error) {
          if (!ok) ++errors;
          raw->open = ok;
        });
    conns.push_back(std::move(c));
  }
  auto until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until) {
    size_t open = 0;
    for (auto& c : conns) open += c->open ? 1 : 0;
    if (open + static_cast<size_t>(errors.load()) >= conns.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Measure m(o);
  for (auto& c : conns) {
    for (int i = 0; i < o.window; ++i) send(*c);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  running = false;
  auto drain = Clock::now() + std::chrono::seconds(10);
  while (echoed < sent && Clock::now() < drain)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Report r;
  r.scenario = "echo";
  m.Finish(r);
  io->Stop();
  r.connections = o.clients;
  r.sent = sent;
  r.acked = echoed;
  r.delivered = echoed;
  r.errors = errors;
  r.lost = sent - echoed;
  r.ack_latency = rtt;
  r.delivery_latency = rtt;
  return r;
}

namespace {

// Holds `count` authenticated connections from this process until `release` is
// readable; reports how many answer a ping once all have logged in.
int HoldConnections(const Options& o, int first, int count, int ready_fd, int release_fd) {
  Harness h(o, static_cast<size_t>(first));
  for (int i = 0; i < count; ++i) h.Add("idle" + std::to_string(first + i));
  h.KeepAlive(30'000);
  bool ok = h.ConnectAll();
  // {connected at (steady clock, µs: the parent's clock too), connections held}
  int64_t report[2] = {NowUs(), 0};
  report[1] = h.CountAnswering(std::chrono::seconds(30));
  if (write(ready_fd, report, sizeof report) != sizeof report) return 1;
  char c;
  (void)!read(release_fd, &c, 1);  // the parent closes it when done
  return ok ? 0 : 1;
}

}  // namespace

Report RunConnections(const Options& o) {
  Report r;
  r.scenario = "connections";
  if (auto s = ServerStats(o); s.ok()) r.server_rss_idle = s->rss_bytes;
  int procs = std::max(1, o.procs);
  int ready[2], release[2];
  if (pipe(ready) != 0 || pipe(release) != 0) {
    ++r.errors;
    return r;
  }
  std::vector<pid_t> children;
  auto start = Clock::now();
  int per = (o.clients + procs - 1) / procs;
  for (int i = 0; i < procs; ++i) {
    int count = std::min(per, o.clients - i * per);
    if (count <= 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      close(release[1]);
      _exit(HoldConnections(o, i * per, count, ready[1], release[0]));
    }
    children.push_back(pid);
  }
  close(ready[1]);
  close(release[0]);
  Measure m(o);
  int64_t total = 0;
  int64_t connected_us = 0;
  for (size_t i = 0; i < children.size(); ++i) {
    int64_t report[2] = {0, 0};
    if (read(ready[0], report, sizeof report) != sizeof report) continue;
    connected_us = std::max(connected_us, report[0]);
    total += report[1];
  }
  int64_t start_us =
      std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch()).count();
  r.connect_s = static_cast<double>(std::max<int64_t>(0, connected_us - start_us)) / 1e6;
  // Let the server settle, hold for the duration, then measure.
  std::this_thread::sleep_for(std::chrono::duration<double>(std::max(1.0, o.duration_s)));
  m.Finish(r);
  close(release[1]);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++r.errors;
  }
  close(ready[0]);
  r.connections = total;
  r.lost = o.clients - total;
  return r;
}

}  // namespace flare::bench
