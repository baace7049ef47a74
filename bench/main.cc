// flare-bench: Flare's load generator. Scenarios: connections, direct,
// group, echo. Prints a table and optionally writes JSON.
#include <sys/resource.h>

#include <openssl/rand.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/config_loader.h"
#include "hook_sink.h"
#include "plot.h"
#include "sampler.h"
#include "scenarios.h"
#include "server_probe.h"
#include "services/signaling/online/token.h"

namespace {

using flare::bench::Histogram;
using flare::bench::Options;
using flare::bench::Report;

nlohmann::json Latency(const Histogram& h) {
  auto ms = [&](double q) { return static_cast<double>(h.Quantile(q)) / 1000.0; };
  return {{"p50", ms(0.5)},
          {"p90", ms(0.9)},
          {"p99", ms(0.99)},
          {"p999", ms(0.999)},
          {"max", static_cast<double>(h.max()) / 1000.0},
          {"count", h.count()}};
}

// CPU microseconds per message, or null when there were none.
nlohmann::json PerMessage(double cpu_s, int64_t messages) {
  if (messages <= 0) return nullptr;
  return cpu_s * 1e6 / static_cast<double>(messages);
}

nlohmann::json ToJson(const Report& r, const Options& o) {
  double d = r.duration_s > 0 ? r.duration_s : 1;
  nlohmann::json j = {
      {"scenario", r.scenario},
      {"duration_s", r.duration_s},
      {"connections", r.connections},
      {"rate_target", o.rate},
      {"pace_tick_us", o.pace_tick_us},
      {"sent", r.sent},
      {"acked", r.acked},
      {"delivered", r.delivered},
      {"acked_per_s", static_cast<double>(r.acked) / d},
      {"delivered_per_s", static_cast<double>(r.delivered) / d},
      {"latency_ms", Latency(r.delivery_latency)},
      {"ack_latency_ms", Latency(r.ack_latency)},
      {"errors", r.errors},
      {"lost", r.lost},
      {"duplicated", r.duplicated},
      {"server_rss_bytes", r.server_rss},
      {"warmup_s", o.warmup_s},
      {"payload_bytes", o.payload},
      {"server_cpu_percent", 100.0 * r.server_cpu_s / d},
      {"bench_cpu_percent", 100.0 * r.bench_cpu_s / d},
      {"server_cpu_us_per_acked", r.server_known ? PerMessage(r.server_cpu_s, r.acked) : nullptr},
      {"bench_cpu_us_per_acked", PerMessage(r.bench_cpu_s, r.acked)},
      {"server_cpu_us_per_delivered",
       r.server_known ? PerMessage(r.server_cpu_s, r.delivered) : nullptr},
      {"timeline",
       {{"bucket_ms", r.bucket_ms}, {"acked", r.acked_series}, {"delivered", r.delivered_series}}},
  };
  if (!r.server_known) j["server_cpu_percent"] = nullptr;
  if (r.scenario == "group" || r.scenario == "mixed") j["members"] = o.members;
  if (r.scenario == "connections") j["connect_s"] = r.connect_s;
  int64_t idle = r.server_rss_idle;
  j["server_rss_idle_bytes"] = idle;
  j["server_rss_per_connection_bytes"] = r.connections > 0 && idle > 0
                                             ? (r.server_rss - idle) / r.connections
                                         : r.connections > 0 ? r.server_rss / r.connections
                                                             : 0;
  return j;
}

void PrintTable(const nlohmann::json& j) {
  std::printf("scenario            %s\n", j["scenario"].get<std::string>().c_str());
  std::printf("duration            %.2f s\n", j["duration_s"].get<double>());
  std::printf("connections         %lld\n", j["connections"].get<long long>());
  if (j.contains("connect_s")) {
    double s = j["connect_s"].get<double>();
    std::printf("connected in        %.1f s (%.0f authenticated/s)\n", s,
                s > 0 ? static_cast<double>(j["connections"].get<long long>()) / s : 0.0);
  }
  std::printf("acked               %lld  (%.0f/s)\n", j["acked"].get<long long>(),
              j["acked_per_s"].get<double>());
  std::printf("delivered           %lld  (%.0f/s)\n", j["delivered"].get<long long>(),
              j["delivered_per_s"].get<double>());
  for (const char* key : {"ack_latency_ms", "latency_ms"}) {
    const auto& l = j[key];
    std::printf("%-19s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms\n", key,
                l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
                l["p999"].get<double>(), l["max"].get<double>());
  }
  std::printf("errors/lost/dup     %lld / %lld / %lld\n", j["errors"].get<long long>(),
              j["lost"].get<long long>(), j["duplicated"].get<long long>());
  std::printf("server rss          %.1f MiB (%lld B per connection)\n",
              static_cast<double>(j["server_rss_bytes"].get<long long>()) / 1048576.0,
              j["server_rss_per_connection_bytes"].get<long long>());
  auto us = [](const nlohmann::json& v) {
    char buf[32] = "unknown";
    if (!v.is_null()) std::snprintf(buf, sizeof buf, "%.2f us", v.get<double>());
    return std::string(buf);
  };
  if (j["server_cpu_percent"].is_null()) {
    std::printf("cpu                 server unknown (no --server-pid)  bench %.0f%%\n",
                j["bench_cpu_percent"].get<double>());
  } else {
    std::printf("cpu                 server %.0f%%  bench %.0f%%\n",
                j["server_cpu_percent"].get<double>(), j["bench_cpu_percent"].get<double>());
  }
  std::printf("cpu per acked msg   server %s  bench %s\n", us(j["server_cpu_us_per_acked"]).c_str(),
              us(j["bench_cpu_us_per_acked"]).c_str());
  if (j["scenario"] == "group") {
    std::printf("cpu per delivery    server %s\n", us(j["server_cpu_us_per_delivered"]).c_str());
  }
  if (j.contains("hook_calls")) {
    std::printf("pre-send hook       %lld calls answered after %d ms (%lld bad signatures)\n",
                j["hook_calls"].get<long long>(), j["hook_delay_ms"].get<int>(),
                j["hook_bad_signatures"].get<long long>());
  }
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

flare::bench::PlotData PlotOf(const Report& r, const Options& o, const nlohmann::json& j) {
  flare::bench::PlotData d;
  std::string who =
      r.scenario == "direct" ? std::to_string(o.clients) + " pairs"
      : r.scenario == "group"
          ? std::to_string(o.members) + " members, " + std::to_string(o.clients) + " senders"
      : r.scenario == "mixed"
          ? std::to_string(o.clients) + " pairs and a group of " + std::to_string(o.members) +
                " (" + std::to_string(o.group_rate) + " msg/s of the rate)"
          : std::to_string(o.clients) + " connections";
  std::string load = o.rate > 0 ? std::to_string(o.rate) + " msg/s paced"
                                : "flat out, window " + std::to_string(o.window);
  d.title = "flare-bench " + r.scenario + ": " + who + ", " + load + ", " +
            std::to_string(o.payload) + " B, " + Fmt("%.0f s", o.duration_s) +
            (o.warmup_s > 0 ? Fmt(" after %.0f s warm-up", o.warmup_s) : "");
  auto us = [](const nlohmann::json& v) {
    return v.is_null() ? std::string("?") : Fmt("%.1f", v.get<double>());
  };
  d.subtitle =
      Fmt("acked %.0f/s, ", j["acked_per_s"].get<double>()) +
      Fmt("delivered %.0f/s; CPU per acked message: server ", j["delivered_per_s"].get<double>()) +
      us(j["server_cpu_us_per_acked"]) + " us, bench " + us(j["bench_cpu_us_per_acked"]) +
      " us; errors/lost/dup " + std::to_string(r.errors) + "/" + std::to_string(r.lost) + "/" +
      std::to_string(r.duplicated);
  d.ack_latency = r.ack_latency;
  d.delivery_latency = r.delivery_latency;
  if (r.scenario == "echo") d.ack_label = d.delivery_label = "round trip";
  d.bucket_ms = r.bucket_ms;
  d.acked = r.acked_series;
  d.delivered = r.delivered_series;
  return d;
}

// Stops the sampler and writes its SVG beside the CSV; false if either failed.
bool WriteSamples(flare::bench::Sampler* sampler, const std::string& csv_path,
                  const std::string& title) {
  if (sampler == nullptr) return true;
  sampler->Stop();
  std::string svg_path = std::filesystem::path(csv_path).replace_extension(".svg").string();
  std::ofstream out(svg_path);
  out << flare::bench::RenderSamples(title, sampler->samples());
  bool ok = sampler->csv_ok() && static_cast<bool>(out);
  if (!ok)
    std::fprintf(stderr, "flare-bench: could not write %s or %s\n", csv_path.c_str(),
                 svg_path.c_str());
  return ok;
}

std::string RandomSecret() {
  unsigned char b[24];
  RAND_bytes(b, sizeof b);
  std::string s;
  for (unsigned char c : b) s += "0123456789abcdef"[c >> 4], s += "0123456789abcdef"[c & 15];
  return s;
}

// "host:port[,port...]": the host into `host`, the ports returned.
flare::Result<std::vector<uint16_t>> ParseServers(const std::string& text, std::string& host) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return flare::InvalidArgument("expected HOST:PORT[,PORT...], got '" + text + "'");
  }
  host = text.substr(0, colon);
  std::vector<uint16_t> ports;
  std::stringstream list(text.substr(colon + 1));
  for (std::string item; std::getline(list, item, ',');) {
    int port = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
    if (ec != std::errc() || end != item.data() + item.size() || port < 1 || port > 65535) {
      return flare::InvalidArgument("bad port '" + item + "' in '" + text + "'");
    }
    ports.push_back(static_cast<uint16_t>(port));
  }
  if (ports.empty()) return flare::InvalidArgument("no port in '" + text + "'");
  return ports;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flare-bench: load generator for Flare"};
  Options o;
  std::string server = "127.0.0.1:8081", json_path, plot_path, flare_binary, data_dir;
  std::string samples_path;
  double sample_every_s = 60;
  std::string group_mode = "server";
  bool spawn = false;
  std::vector<std::string> server_env;
  std::vector<uint16_t> http_ports;
  int hook_delay_ms = -1;
  app.add_option("--scenario", o.scenario, "connections | direct | group | echo | mixed")
      ->required()
      ->check(CLI::IsMember({"connections", "direct", "group", "echo", "mixed"}));
  app.add_option("--server", server,
                 "HOST:PORT of the WebSocket gateway, or HOST:PORT,PORT,... for the gateways of "
                 "a cluster on one host (connections spread round robin)");
  app.add_option("--server-pid", o.server_pids,
                 "pid of the server, for memory and CPU (repeatable: a cluster's processes, "
                 "summed); default: the processes listening on --server's ports");
  app.add_option("--server-http-port", http_ports,
                 "HTTP port on --server's host whose /metrics --samples reads (repeatable: a "
                 "cluster's processes, summed); --spawn-server: its own");
  app.add_option("--data-dir", data_dir, "the server's data dir (to read its token secret)");
  app.add_option("--secret", o.secret, "the server's HS256 secret");
  app.add_flag("--spawn-server", spawn, "start an embedded flare serve on free ports");
  app.add_option("--flare", flare_binary, "flare binary for --spawn-server");
  app.add_option("--server-env", server_env, "KEY=VALUE for the spawned server (repeatable)");
  app.add_option("--duration", o.duration_s, "seconds of load")->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate, "messages/s in total; 0 = flat out");
  app.add_option("--pace-tick-us", o.pace_tick_us,
                 "with --rate: send what is due every N microseconds instead of each message "
                 "at its own due time (one wake-up per tick, not per message)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--clients", o.clients,
                 "direct: pairs; group: senders; echo/connections: connections");
  app.add_option("--members", o.members, "group size");
  app.add_option("--group-rate", o.group_rate,
                 "mixed: of --rate, the messages/s posted to the group")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--group-senders", o.group_senders, "mixed: members who post to the group")
      ->check(CLI::PositiveNumber);
  app.add_option("--samples", samples_path,
                 "sample the server's RSS, descriptors, WAL bytes and each interval's latency "
                 "into this CSV (and an SVG of them beside it)");
  app.add_option("--sample-every", sample_every_s, "seconds between samples")
      ->check(CLI::PositiveNumber);
  app.add_option("--window", o.window, "sends in flight per sender (flat out)");
  app.add_option("--threads", o.threads, "bench I/O threads");
  app.add_option("--procs", o.procs, "connections: client processes");
  app.add_option("--payload", o.payload, "message bytes");
  app.add_option("--connect-timeout", o.connect_timeout_s,
                 "seconds connecting and logging in may take before the run goes on without "
                 "the rest")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup_s,
                 "seconds of load before the measured window (in no count, latency or CPU "
                 "figure)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ack-every", o.ack_every, "receivers ack pushes every this many messages")
      ->check(CLI::PositiveNumber);
  app.add_option("--ack-delay-ms", o.ack_delay_ms,
                 "... and at most this long after an unacked one arrived (0 = only every "
                 "--ack-every)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--group-mode", group_mode,
                 "with --spawn-server, group: push (every message pushed to every member), "
                 "notify ('advanced' notices, members sync), server (its default: push up to "
                 "groups.large_group_threshold members)")
      ->check(CLI::IsMember({"server", "push", "notify"}));
  app.add_option("--json", json_path, "write the results as JSON here");
  app.add_option("--plot", plot_path,
                 "write an SVG of the latency distributions and throughput over time here");
  app.add_option("--hook-delay-ms", hook_delay_ms,
                 "with --spawn-server: a pre-send webhook on a local receiver the bench starts, "
                 "answering after this many ms (0 = at once); -1 = no hook")
      ->check(CLI::Range(-1, 60'000));
  CLI11_PARSE(app, argc, argv);
  o.user_prefix = "r" +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count() %
                                 100'000'000) +
                  "-";

  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  std::unique_ptr<flare::bench::SpawnedServer> spawned;
  std::unique_ptr<flare::bench::HookSink> hook_sink;  // outlives the server's calls
  if (spawn) {
    if (flare_binary.empty()) {
      std::string self = std::filesystem::canonical("/proc/self/exe").string();
      flare_binary = std::filesystem::path(self).parent_path() / "flare";
    }
    if (o.secret.empty()) o.secret = RandomSecret();
    std::map<std::string, std::string> env;
    for (const auto& kv : server_env) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (o.scenario == "echo") env["FLARE_GATEWAY_ECHO_MODE"] = "on";
    // Bench users send flat out, far above a real user's per-user send rate.
    env.emplace("FLARE_LIMITS_SEND_PER_SECOND", "0");
    // And connect from a few loopback addresses at once, hundreds per
    // address in their upgrade together.
    env.emplace("FLARE_GATEWAY_MAX_UNAUTHENTICATED_PER_ADDRESS", "1000000");
    if (o.scenario == "group" || o.scenario == "mixed") {
      env.emplace("FLARE_GROUPS_MAX_MEMBERS", std::to_string(o.members + 1));
      if (group_mode == "push")
        env.emplace("FLARE_GROUPS_LARGE_GROUP_THRESHOLD", std::to_string(o.members + 1));
      if (group_mode == "notify") env.emplace("FLARE_GROUPS_LARGE_GROUP_THRESHOLD", "1");
    }
    std::string admin_token = RandomSecret();
    if (hook_delay_ms >= 0) {
      env["FLARE_HOOK_ADMIN_TOKEN"] = admin_token;
      env["FLARE_HOOK_ADMIN_PORT"] = "0";
    }
    auto s = flare::bench::SpawnedServer::Start(flare_binary, o.secret, env);
    if (!s.ok()) {
      std::fprintf(stderr, "flare-bench: %s\n", s.status().message().c_str());
      return 2;
    }
    spawned = std::move(s).value();
    if (hook_delay_ms >= 0) {
      std::string hook_secret = RandomSecret();
      auto sink = flare::bench::HookSink::Start(hook_secret, hook_delay_ms);
      flare::Status put = sink.ok()
                              ? flare::bench::PutBenchHook(spawned->hook_admin_port(), admin_token,
                                                           (*sink)->url(), hook_secret)
                              : sink.status();
      if (!put.ok()) {
        std::fprintf(stderr, "flare-bench: %s\n", put.message().c_str());
        return 2;
      }
      hook_sink = std::move(sink).value();
    }
    o.ports = {spawned->ws_port()};
    o.server_pids = {spawned->pid()};
    http_ports = {spawned->http_port()};
    data_dir = spawned->data_dir();
  } else {
    auto ports = ParseServers(server, o.host);
    if (!ports.ok()) {
      std::fprintf(stderr, "flare-bench: --server: %s\n", ports.status().message().c_str());
      return 2;
    }
    o.ports = *ports;
    if (o.server_pids.empty()) {
      for (uint16_t port : o.ports) {
        auto pid = flare::bench::FindListeningPid(port);
        bool seen = pid.ok() && std::find(o.server_pids.begin(), o.server_pids.end(), *pid) !=
                                    o.server_pids.end();
        if (pid.ok() && !seen) {
          o.server_pids.push_back(*pid);
          std::fprintf(stderr, "flare-bench: server pid %d (listening on %u)\n", *pid, port);
        } else if (!pid.ok()) {
          std::fprintf(stderr, "flare-bench: no server CPU or memory figures: %s\n",
                       pid.status().message().c_str());
        }
      }
    }
    if (o.secret.empty() && o.scenario != "echo") {
      flare::CommonFlags flags;
      flags.data_dir = data_dir;
      auto config = flare::LoadCommandConfig(flags);
      auto secret = config.ok() ? flare::ResolveJwtSecret(*config) : config.status();
      if (!secret.ok()) {
        std::fprintf(stderr, "flare-bench: no token secret: %s\n",
                     secret.status().message().c_str());
        return 2;
      }
      o.secret = *secret;
    }
  }

  std::unique_ptr<flare::bench::Sampler> sampler;
  if (!samples_path.empty()) {
    sampler = std::make_unique<flare::bench::Sampler>(o.server_pids, data_dir, sample_every_s,
                                                      samples_path, o.host, http_ports);
    o.sampler = sampler.get();
    sampler->Start();
  }
  Report r = o.scenario == "direct"  ? flare::bench::RunDirect(o)
             : o.scenario == "group" ? flare::bench::RunGroup(o)
             : o.scenario == "echo"  ? flare::bench::RunEcho(o)
             : o.scenario == "mixed" ? flare::bench::RunMixed(o)
                                     : flare::bench::RunConnections(o);
  std::string rate = o.rate > 0 ? std::to_string(o.rate) + " msg/s" : std::string("flat out");
  bool samples_ok = WriteSamples(sampler.get(), samples_path,
                                 "flare-bench " + o.scenario + " at " + rate + " for " +
                                     Fmt("%.0f s", o.duration_s) + ", sampled every " +
                                     Fmt("%g s", sample_every_s));
  auto j = ToJson(r, o);
  if (hook_sink) {
    j["hook_delay_ms"] = hook_delay_ms;
    j["hook_calls"] = hook_sink->calls();
    j["hook_bad_signatures"] = hook_sink->bad_signatures();
  }
  PrintTable(j);
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  if (!plot_path.empty()) {
    std::ofstream out(plot_path);
    out << flare::bench::RenderPlot(PlotOf(r, o, j));
    if (!out) std::fprintf(stderr, "flare-bench: could not write %s\n", plot_path.c_str());
  }
  return (r.errors == 0 && r.lost == 0 && r.duplicated == 0 && samples_ok) ? 0 : 1;
}
