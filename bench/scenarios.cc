#include "scenarios.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "harness.h"

namespace flare::bench {
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
      },
      [&] {
        m.Start();
        h.StartWindow();
      });
  m.Finish(r);
  h.Fill(r, m.end_us());
  for (Peer* p : all) r.lost += std::max<int64_t>(0, p->partner->acked - p->received);
  return r;
}

namespace {

// Member 0 creates the group, then adds the others in requests of at most
// 1,000 (a client frame may hold at most gateway.max_frame_bytes); the
// conversation id, or empty on failure.
std::string CreateGroup(Harness& h, int members) {
  std::mutex mu;
  std::string conversation;
  std::atomic<int64_t> answers{0}, failures{0};
  h.on_frame_ = [&](Peer&, const pb::ServerFrame& f) {
    if (f.has_error() && f.request_id().rfind("group", 0) == 0) ++failures, ++answers;
    if (!f.has_group_result()) return;
    std::lock_guard lock(mu);
    conversation = f.group_result().info().conversation_id();
    ++answers;
  };
  auto& peers = h.peers();
  auto wait_for = [&](int64_t n) {
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (answers < n && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return answers >= n && failures == 0;
  };
  constexpr int kChunk = 1000;
  pb::ClientFrame create;
  create.set_request_id("group0");
  create.mutable_group()->mutable_create()->mutable_settings()->set_name("bench");
  for (int i = 1; i < std::min(members, kChunk); ++i)
    create.mutable_group()->mutable_create()->add_member_ids(peers[i]->user);
  peers[0]->conn->Send(std::make_shared<const std::string>(create.SerializeAsString()));
  bool ok = wait_for(1);
  for (int from = kChunk, n = 2; ok && from < members; from += kChunk, ++n) {
    pb::ClientFrame add;
    add.set_request_id("group" + std::to_string(n - 1));
    {
      std::lock_guard lock(mu);
      add.mutable_group()->set_conversation_id(conversation);
    }
    for (int i = from; i < std::min(members, from + kChunk); ++i)
      add.mutable_group()->mutable_add_members()->add_user_ids(peers[i]->user);
    peers[0]->conn->Send(std::make_shared<const std::string>(add.SerializeAsString()));
    ok = wait_for(n);
  }
  h.on_frame_ = nullptr;
  std::lock_guard lock(mu);
  return ok ? conversation : "";
}

}  // namespace

Report RunGroup(const Options& o) {
  Harness h(o);
  for (int i = 0; i < o.members; ++i) h.Add("m" + std::to_string(i));
  Report r;
  r.scenario = "group";
  if (!h.ConnectAll()) ++r.errors;
  std::string conversation = CreateGroup(h, o.members);
  if (conversation.empty()) {
    ++r.errors;
    return r;
  }
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
      },
      [&] {
        m.Start();
        h.StartWindow();
      });
  m.Finish(r);
  h.Fill(r, m.end_us());
  int shown = 0;
  for (auto& p : h.peers()) {
    int64_t missing = expected(*p) - p->received;
    if (missing <= 0) continue;
    r.lost += missing;
    // Where a member stopped: announced (notify mode) vs fetched or pushed.
    if (shown++ < 5) {
      std::fprintf(stderr, "%s: %lld missing; last seq %lld, announced %lld%s\n", p->user.c_str(),
                   static_cast<long long>(missing), static_cast<long long>(p->last_seq.load()),
                   static_cast<long long>(p->advanced_to), p->syncing ? ", a sync unanswered" : "");
    }
  }
  return r;
}

namespace {

std::vector<int64_t> AddSeries(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  if (a.size() < b.size()) a.resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) a[i] += b[i];
  return a;
}

}  // namespace

Report RunMixed(const Options& o) {
  Options direct = o, group = o;
  direct.scenario = "direct";
  direct.user_prefix += "d";
  direct.rate = o.rate > 0 ? std::max<int64_t>(1, o.rate - o.group_rate) : 0;
  group.scenario = "group";
  group.user_prefix += "g";
  group.clients = o.group_senders;
  group.rate = o.rate > 0 ? std::max<int64_t>(1, o.group_rate) : 0;
  Report g;
  std::thread group_thread([&] { g = RunGroup(group); });
  Report r = RunDirect(direct);
  group_thread.join();
  r.scenario = "mixed";
  r.connections = static_cast<int64_t>(o.clients) * 2 + o.members;
  r.sent += g.sent;
  r.acked += g.acked;
  r.delivered += g.delivered;
  r.errors += g.errors;
  r.lost += g.lost;
  r.duplicated += g.duplicated;
  r.ack_latency.Merge(g.ack_latency);
  r.delivery_latency.Merge(g.delivery_latency);
  r.acked_series = AddSeries(std::move(r.acked_series), g.acked_series);
  r.delivered_series = AddSeries(std::move(r.delivered_series), g.delivered_series);
  return r;  // the server's and this process's CPU and memory: the direct run's window
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
  Timeline series = MakeTimeline(o);
  std::atomic<int64_t> window_start{0};
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
          int64_t at = 0, now = NowUs();
          if (data.size() >= sizeof at) std::memcpy(&at, data.data(), sizeof at);
          if (at >= window_start) {
            std::lock_guard lock(hist_mu);
            rtt.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - at)));
          }
          series.Add(now);
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
  int64_t base_sent = 0, base_echoed = 0;
  auto start_window = [&] {
    m.Start();
    std::lock_guard lock(hist_mu);
    window_start = NowUs();
    rtt = Histogram();
    series.Start(window_start);
    base_sent = sent;
    base_echoed = echoed;
  };
  if (o.warmup_s <= 0) start_window();
  for (auto& c : conns) {
    for (int i = 0; i < o.window; ++i) send(*c);
  }
  if (o.warmup_s > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
    start_window();
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
  r.sent = sent - base_sent;
  r.acked = echoed - base_echoed;
  r.delivered = r.acked;
  r.errors = errors;
  r.lost = sent - echoed;
  r.ack_latency = rtt;
  r.delivery_latency = rtt;
  r.bucket_ms = series.bucket_us() / 1000;
  r.acked_series = series.Counts(m.end_us());
  r.delivered_series = r.acked_series;
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
  m.Start();
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
