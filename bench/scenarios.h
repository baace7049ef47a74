// flare-bench scenarios and what they report.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "histogram.h"

namespace flare::bench {

class Sampler;

struct Options {
  std::string scenario;
  std::string host = "127.0.0.1";
  // The gateways' WebSocket ports on `host`: connection i goes to
  // ports[i % ports.size()] (a direct pair's two users to neighbouring ones).
  std::vector<uint16_t> ports = {8081};
  std::string secret;  // HS256 secret to sign tokens with
  // Put before every user name: each run has users (and so conversations)
  // of its own, also on a server that keeps an earlier run's data.
  std::string user_prefix;
  // The server's processes, for memory and CPU figures (summed; none: not reported).
  std::vector<pid_t> server_pids;
  double duration_s = 10;
  int64_t rate = 0;  // messages/s in total; 0 = flat out
  // With a rate: 0 sends each message at its own due time; N > 0 wakes
  // every N microseconds and sends what is due by then (cheaper for the
  // bench, in bursts of rate * N / 1e6).
  int64_t pace_tick_us = 0;
  int clients = 100;              // direct: pairs; group: senders; echo/connections: connections
  int members = 1000;             // group size
  int window = 16;                // sends in flight per sender when flat out
  int threads = 1;                // bench I/O threads
  int procs = 1;                  // connections: client processes
  int payload = 64;               // message bytes
  double connect_timeout_s = 60;  // how long connecting (and logging in) may take
  double warmup_s = 0;            // load before the measured window, in no figure
  int ack_every = 32;             // receivers ack pushes every this many messages
  int ack_delay_ms = 50;          // ... and at most this long after one arrived (0: never)
  // mixed: direct pairs (clients) at rate - group_rate, and group_senders
  // posting to one group of `members` at group_rate, at once.
  int64_t group_rate = 0;
  int group_senders = 4;
  Sampler* sampler = nullptr;  // told every latency, when sampling
};

struct Report {
  std::string scenario;
  double duration_s = 0;
  int64_t connections = 0;
  int64_t sent = 0, acked = 0, delivered = 0, errors = 0, lost = 0, duplicated = 0;
  Histogram ack_latency, delivery_latency;  // microseconds
  int64_t server_rss_idle = 0, server_rss = 0;
  bool server_known = false;  // the server's /proc figures could be read
  double server_cpu_s = 0, bench_cpu_s = 0;
  // Acked and delivered messages per bucket of the measured window.
  int64_t bucket_ms = 100;
  std::vector<int64_t> acked_series, delivered_series;
  double connect_s = 0;  // connections: until every client process had its logins answered
};

Report RunDirect(const Options& o);
Report RunGroup(const Options& o);
Report RunEcho(const Options& o);
Report RunConnections(const Options& o);
// Direct and group load at once (both paced, or both flat out); one report
// of both (counts and latencies summed, the server's figures once).
Report RunMixed(const Options& o);

}  // namespace flare::bench
