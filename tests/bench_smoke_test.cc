// Runs every flare-bench scenario at small scale against its own spawned
// server and checks completion with no errors, no lost and no duplicated
// messages. Correctness only: no timing is asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string TempPath(const std::string& ext) {
  return ::testing::TempDir() + "/flare_bench_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + ext;
}

// Runs flare-bench; `clean`: the run must exit 0 (nothing lost, duplicated
// or refused).
nlohmann::json RunBench(const std::string& args, bool clean = true) {
  std::string json = TempPath(".json");
  std::remove(json.c_str());
  std::string cmd = std::string(FLARE_BENCH) + " --spawn-server --flare " + FLARE_BINARY +
                    (args.find("--duration") == std::string::npos ? " --duration 1" : "") +
                    " --json " + json + " " + args + " > /dev/null";
  int rc = std::system(cmd.c_str());
  if (clean) {
    EXPECT_EQ(rc, 0) << cmd;
  }
  std::ifstream in(json);
  EXPECT_TRUE(in.good()) << "no JSON written by: " << cmd;
  nlohmann::json j;
  if (in.good()) in >> j;
  return j;
}

// '&' only as an entity reference.
bool EntitiesOk(const std::string& text) {
  static const std::regex entity("^&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
  for (size_t i = text.find('&'); i != std::string::npos; i = text.find('&', i + 1)) {
    if (!std::regex_search(text.substr(i, 12), entity)) return false;
  }
  return true;
}

// Attributes of a start tag's body after its name: name="value" pairs.
bool AttributesOk(const std::string& attrs) {
  static const std::regex pair(R"re(^\s+[A-Za-z_:][-A-Za-z0-9_:.]*\s*=\s*"([^"<]*)")re");
  std::string rest = attrs;
  std::smatch m;
  while (std::regex_search(rest, m, pair)) {
    if (!EntitiesOk(m[1].str())) return false;
    rest = m.suffix();
  }
  return rest.find_first_not_of(" \n\t") == std::string::npos;
}

// An XML well-formedness check sufficient for flare-bench's SVG: an
// optional declaration, one root element, tags nested and closed,
// attributes quoted, no stray '<' or '&'. Empty = fine, else the problem.
std::string XmlProblem(const std::string& doc) {
  size_t i = 0;
  if (doc.rfind("<?xml", 0) == 0) i = doc.find("?>") + 2;
  std::vector<std::string> open;
  bool root_done = false;
  static const std::regex start_tag(R"(^([A-Za-z_][-A-Za-z0-9_:.]*)([\s\S]*?)(/?)$)");
  while (i < doc.size()) {
    size_t lt = doc.find('<', i);
    std::string text = doc.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (!EntitiesOk(text)) return "bad '&' in text: " + text;
    if (open.empty() && text.find_first_not_of(" \n\t") != std::string::npos)
      return "text outside the root element";
    if (lt == std::string::npos) break;
    size_t gt = doc.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = doc.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return "unbalanced </" + tag.substr(1) + ">";
      open.pop_back();
      if (open.empty()) root_done = true;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(tag, m, start_tag) || !AttributesOk(m[2].str()))
      return "bad tag <" + tag + ">";
    if (open.empty() && root_done) return "a second root element";
    if (m[3].str().empty()) {
      open.push_back(m[1].str());
    } else if (open.empty()) {
      root_done = true;
    }
  }
  if (!open.empty()) return "<" + open.back() + "> not closed";
  return root_done ? "" : "no root element";
}

// The number of x,y points of <polyline id="id" ... points="...">.
int PolylinePoints(const std::string& svg, const std::string& id) {
  std::smatch m;
  std::regex line("<polyline id=\"" + id + "\"[^>]*points=\"([^\"]*)\"");
  if (!std::regex_search(svg, m, line)) return -1;
  std::istringstream points(m[1].str());
  int n = 0;
  static const std::regex point(R"(^-?[0-9.]+,-?[0-9.]+$)");
  for (std::string p; points >> p;) {
    if (!std::regex_match(p, point)) return -1;
    ++n;
  }
  return n;
}

void ExpectClean(const nlohmann::json& j) {
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["lost"], 0);
  EXPECT_EQ(j["duplicated"], 0);
  for (const char* key :
       {"scenario", "duration_s", "connections", "acked_per_s", "delivered_per_s", "latency_ms",
        "ack_latency_ms", "server_rss_bytes", "server_rss_per_connection_bytes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* q : {"p50", "p90", "p99", "p999", "max"})
    EXPECT_TRUE(j["latency_ms"].contains(q));
}

TEST(BenchSmoke, Direct) {
  auto j = RunBench("--scenario direct --clients 4 --window 4");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
  EXPECT_EQ(j["delivered"], j["acked"]) << "every acked 1:1 message reached the peer";
  // CPU per acked message, of the spawned server and of the bench itself.
  EXPECT_GT(j["server_cpu_us_per_acked"].get<double>(), 0);
  EXPECT_GT(j["bench_cpu_us_per_acked"].get<double>(), 0);
}

// At a low rate receivers get far fewer than --ack-every pushes; the ack
// timer must ack them before the server's resend timeout, or the resent
// pushes arrive as duplicates and the run fails.
constexpr const char* kLowRate =
    "--scenario direct --clients 2 --rate 8 --duration 2 "
    "--server-env FLARE_GATEWAY_RESEND_TIMEOUT_MS=300";

TEST(BenchSmoke, LowRateAcksOnATimerSoNothingIsResent) {
  auto j = RunBench(kLowRate);
  ExpectClean(j);
  EXPECT_GT(j["delivered"].get<int64_t>(), 0);
}

// The same run acking only every 32 messages: shows that the case above
// exercises resends (the server resends unacked pushes: duplicates).
TEST(BenchSmoke, LowRateWithoutTheAckTimerGetsResends) {
  auto j = RunBench(std::string(kLowRate) + " --ack-delay-ms 0", false);
  ASSERT_FALSE(j.is_null());
  EXPECT_GT(j["duplicated"].get<int64_t>(), 0);
}

// Warm-up load is in no figure: a paced run reports about rate x duration
// messages, not rate x (warm-up + duration).
TEST(BenchSmoke, WarmupIsExcluded) {
  auto j = RunBench("--scenario direct --clients 2 --rate 200 --warmup 2");
  ExpectClean(j);
  EXPECT_EQ(j["warmup_s"], 2.0);
  int64_t sent = j["sent"].get<int64_t>();
  EXPECT_GE(sent, 150);
  EXPECT_LE(sent, 250) << "the 2 s of warm-up (400 sends) were counted";
  EXPECT_LE(j["acked"].get<int64_t>(), 250);
  EXPECT_LE(j["latency_ms"]["count"].get<int64_t>(), 250);
}

TEST(BenchSmoke, DirectAtARate) {
  auto j = RunBench("--scenario direct --clients 2 --rate 200");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
}

// Sends leave in 50 ms ticks (20 at a time) and still at the asked rate.
TEST(BenchSmoke, PacingInTicksKeepsTheRate) {
  auto j = RunBench("--scenario direct --clients 2 --rate 400 --pace-tick-us 50000 --duration 2");
  ExpectClean(j);
  EXPECT_EQ(j["pace_tick_us"], 50000);
  int64_t sent = j["sent"].get<int64_t>();
  EXPECT_GE(sent, 760);
  EXPECT_LE(sent, 800);
}

TEST(BenchSmoke, DirectThroughAPreSendHook) {
  auto j = RunBench("--scenario direct --clients 2 --window 2 --hook-delay-ms 5");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
  // Every send waited for one signed call of the bench's receiver (fail_closed).
  EXPECT_GE(j["hook_calls"].get<int64_t>(), j["acked"].get<int64_t>());
  EXPECT_EQ(j["hook_bad_signatures"], 0);
}

TEST(BenchSmoke, Group) {
  auto j = RunBench("--scenario group --members 20 --clients 3 --window 2");
  ExpectClean(j);
  EXPECT_EQ(j["delivered"].get<int64_t>(), j["acked"].get<int64_t>() * 19);
}

TEST(BenchSmoke, XmlCheckCatchesMalformedDocuments) {
  EXPECT_EQ(XmlProblem("<svg a=\"1\"><g><text>x &amp; y</text></g><line/></svg>\n"), "");
  EXPECT_NE(XmlProblem("<svg><g></svg>"), "");
  EXPECT_NE(XmlProblem("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(XmlProblem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(XmlProblem("<svg a=1></svg>"), "");
  EXPECT_NE(XmlProblem("<svg></svg><svg></svg>"), "");
}

TEST(BenchSmoke, PlotIsWellFormedSvgWithEverySeries) {
  std::string svg_path = TempPath(".svg");
  std::remove(svg_path.c_str());
  auto j = RunBench("--scenario direct --clients 2 --rate 300 --duration 2 --plot " + svg_path);
  ExpectClean(j);
  std::ifstream in(svg_path);
  ASSERT_TRUE(in.good()) << "no SVG at " << svg_path;
  std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(XmlProblem(svg), "");
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("flare-bench direct: 2 pairs, 300 msg/s paced"), std::string::npos)
      << "the run's parameters in the title";
  for (const char* id : {"ack-latency", "delivery-latency"}) {
    EXPECT_GE(PolylinePoints(svg, id), 20) << id;  // two points per bin, 10 bins per decade
  }
  // Per 100 ms over the 2 s window: at least 20 buckets of throughput.
  size_t buckets = j["timeline"]["acked"].size();
  EXPECT_GE(buckets, 20u);
  for (const char* id : {"acked-per-s", "delivered-per-s"}) {
    EXPECT_EQ(PolylinePoints(svg, id), static_cast<int>(buckets)) << id;
  }
  for (const char* label : {"latency (ms, log scale)", "messages/s", "send→ack"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST(BenchSmoke, GroupInNotifyMode) {
  // Members get 'advanced' notices and pull each message with sync. One
  // sender: a batch's notice skips the sender of its last message, which
  // with several senders can leave that sender short of the others'
  // messages in the batch until the next notice.
  auto j = RunBench("--scenario group --members 20 --clients 1 --window 4 --group-mode notify");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
  EXPECT_EQ(j["delivered"].get<int64_t>(), j["acked"].get<int64_t>() * 19);
}

TEST(BenchSmoke, Echo) {
  auto j = RunBench("--scenario echo --clients 4 --window 2");
  ExpectClean(j);
  EXPECT_GT(j["acked"].get<int64_t>(), 0);
}

TEST(BenchSmoke, ConnectionsOverTwoProcesses) {
  auto j = RunBench("--scenario connections --clients 50 --procs 2");
  ExpectClean(j);
  EXPECT_EQ(j["connections"], 50);
  EXPECT_GT(j["server_rss_per_connection_bytes"].get<int64_t>(), 0);
}

}  // namespace

namespace {

// The rows of a --samples CSV (header skipped), each a list of numbers.
std::vector<std::vector<double>> ReadSamples(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "minute,rss_mib,fds,wal_mib,acked_per_s,ack_p50_ms,ack_p99_ms,delivery_p50_ms,"
            "delivery_p99_ms,server_cpu_pct,cpu_pressure_pct,io_pressure_pct,steal_pct,"
            "checkpoints,checkpoint_pct");
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    EXPECT_EQ(row.size(), 15u) << line;
    rows.push_back(row);
  }
  return rows;
}

enum Column {
  kMinute,
  kRssMib,
  kFds,
  kWalMib,
  kAckedPerS,
  kServerCpuPct = 9,
  kCpuPressurePct,
  kIoPressurePct,
  kStealPct,
  kCheckpoints,
  kCheckpointPct
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(BenchSmoke, MixedLoadIsSampledIntoACsvAndAPlot) {
  std::string csv = TempPath(".csv"), svg = TempPath(".svg");
  std::remove(csv.c_str());
  std::remove(svg.c_str());
  auto j = RunBench(
      "--scenario mixed --clients 4 --members 6 --group-senders 2 --rate 200 "
      "--group-rate 20 --duration 4 --samples " +
      csv + " --sample-every 1");
  ExpectClean(j);
  EXPECT_EQ(j["scenario"], "mixed");
  EXPECT_GT(j["delivered"].get<int64_t>(), j["acked"].get<int64_t>());  // the group fans out
  auto rows = ReadSamples(csv);
  ASSERT_GE(rows.size(), 3u);
  for (const auto& row : rows) {
    EXPECT_GT(row[kRssMib], 1);
    EXPECT_GT(row[kFds], 10);  // the listeners, the store and the 14 clients at least
    EXPECT_GE(row[kWalMib], 0);
    for (Column pct : {kCpuPressurePct, kIoPressurePct, kStealPct}) {
      EXPECT_GE(row[pct], 0);
      EXPECT_LE(row[pct], 100.5);
    }
  }
  EXPECT_GT(rows[1][kAckedPerS], 0);
  EXPECT_GT(rows[1][kServerCpuPct], 0);  // the server's CPU while it stores 200 msg/s
  std::string doc = ReadAll(svg);
  EXPECT_EQ(XmlProblem(doc), "");
  for (const char* id : {"rss", "fds", "wal", "ack-p50", "ack-p99", "delivery-p50", "delivery-p99",
                         "server-cpu", "cpu-pressure", "io-pressure", "steal", "checkpoint"})
    EXPECT_EQ(PolylinePoints(doc, id), static_cast<int>(rows.size())) << id;
}

// The CI's short soak (the hour-long one is in docs/benchmarks.md): two
// minutes of mixed load, sampled every 10 s. Leaks show as descriptors or
// memory that keep growing; a WAL that is never checkpointed keeps growing
// too. The SQLite page cache (128 MiB by default, which a long run fills
// and then holds) is made 2 MiB here so that it is full after the first
// sample, which is the warm-up; the WAL is checkpointed at 16 MiB.
TEST(Soak, TwoMinutesOfMixedLoadStayFlat) {
  std::string csv = TempPath(".csv");
  std::remove(csv.c_str());
  auto j = RunBench(
      "--scenario mixed --clients 20 --members 40 --rate 500 --group-rate 50 "
      "--duration 120 --samples " +
      csv +
      " --sample-every 10 "
      "--server-env FLARE_STORAGE_SQLITE_CACHE_MIB=2 "
      "--server-env FLARE_STORAGE_CHECKPOINT_WAL_BYTES=16777216");
  ExpectClean(j);
  auto rows = ReadSamples(csv);
  ASSERT_GE(rows.size(), 11u);
  double fds_lo = 1e9, fds_hi = 0, wal_hi = 0, checkpoints = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    fds_lo = std::min(fds_lo, rows[i][kFds]);
    fds_hi = std::max(fds_hi, rows[i][kFds]);
    wal_hi = std::max(wal_hi, rows[i][kWalMib]);
    checkpoints += rows[i][kCheckpoints];
  }
  // Read from the server's /metrics: the WAL passes 16 MiB many times.
  EXPECT_GE(checkpoints, 1) << "no checkpoint seen in flare_store_checkpoint_seconds";
  EXPECT_LE(fds_hi - fds_lo, 4) << "open descriptors grow under steady load";
  double rss_early = rows[1][kRssMib], rss_late = rows.back()[kRssMib];
  EXPECT_LE(rss_late, rss_early * 1.25) << "RSS " << rss_early << " MiB -> " << rss_late;
  EXPECT_LE(wal_hi, 16 + 8) << "the WAL is not checkpointed at storage.checkpoint_wal_bytes";
}
