// Metrics, process figures and JSON log lines: what /metrics and the logs
// give Prometheus, the alert rules and log collectors.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/logging.h"
#include "common/metrics.h"
#include "common/process_metrics.h"

namespace flare {
namespace {

// The value of an unlabelled sample `name` in Prometheus text, or -1.
double Sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(Metrics, SizeHistogramExportsCumulativeBucketsInItsOwnUnit) {
  Metrics registry;
  Histogram& sizes = registry.AddHistogram("batch_messages", "messages per batch", {1, 10, 100});
  for (double v : {1, 3, 10, 11, 500}) sizes.Observe(v);
  std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP batch_messages messages per batch\n# TYPE batch_messages histogram"),
            std::string::npos);
  EXPECT_NE(text.find("batch_messages_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_messages_bucket{le=\"10\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_messages_bucket{le=\"100\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_messages_bucket{le=\"+Inf\"} 5\n"), std::string::npos) << text;
  EXPECT_EQ(Sample(text, "batch_messages_sum"), 525);
  EXPECT_EQ(Sample(text, "batch_messages_count"), 5);
}

TEST(Metrics, LatencyHistogramTakesMillisecondsAndExportsSeconds) {
  Histogram latency;
  latency.ObserveMs(1);  // on the 1 ms bound: counted in it
  latency.ObserveMs(150);
  std::string text = latency.Render("x_seconds");
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.2\"} 2\n"), std::string::npos) << text;
  EXPECT_DOUBLE_EQ(latency.Sum(), 0.151);
}

TEST(ProcessMetrics, ParsesProcStatWithSpacesAndParenthesesInTheCommand) {
  // Fields 14/15 (utime/stime) = 250/50 ticks, 22 (starttime) = 1000 ticks, 24 (rss) = 300 pages.
  std::string stat =
      "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 123456 300 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  auto parsed = ParseProcStat(stat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_DOUBLE_EQ(parsed->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(parsed->start_time_seconds, 1'700'000'010.0);
  EXPECT_EQ(parsed->resident_bytes, 300 * 4096);
  EXPECT_FALSE(ParseProcStat("42 (x) S 1 2", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat(stat.substr(0, stat.size() / 2), 100, 4096, 0).has_value());
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nbtime 1700000123\nprocesses 9\n"), 1'700'000'123.0);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal:        8040508 kB\nMemFree: 1 kB\n"),
            int64_t{8040508} * 1024);
  EXPECT_FALSE(ParseMemTotalBytes("MemFree: 1 kB\n").has_value());
}

TEST(ProcessMetrics, ThisProcessFiguresArePlausible) {
  // Burn a little CPU so the counter cannot be zero.
  volatile uint64_t x = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  std::string text = RenderProcessMetrics();
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(Sample(text, "process_cpu_seconds_total"), 0) << text;
  double rss = Sample(text, "process_resident_memory_bytes");
  EXPECT_GT(rss, 1 << 20) << text;
  double start = Sample(text, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600);  // this test binary started recently
  double open = Sample(text, "process_open_fds");
  EXPECT_GE(open, 3);  // stdin, stdout, stderr
  EXPECT_GE(Sample(text, "process_max_fds"), open);
  EXPECT_GT(Sample(text, "flare_machine_memory_bytes"), rss);
  EXPECT_GE(Sample(text, "flare_machine_cpu_cores"), 1);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
}

TEST(ProcessMetrics, ServerMetricsRenderThemWithTheirOwnFigures) {
  Metrics registry;
  ServerMetrics metrics(registry);
  metrics.store_batch_messages.Observe(3);
  metrics.ingest_lag_records.Set(7);
  std::string text = registry.Render();
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 0) << text;
  EXPECT_EQ(Sample(text, "flare_store_batch_messages_count"), 1);
  EXPECT_EQ(Sample(text, "flare_ingest_consumer_lag_records"), 7);
  EXPECT_EQ(Sample(text, "flare_message_delivery_seconds_count"), 0);
}

// Logs through a logger with the formatter `format` and returns what it wrote.
std::string LogWith(const std::string& format, const std::function<void(spdlog::logger&)>& log) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  auto formatter = NewLogFormatter(format);
  EXPECT_TRUE(formatter.ok()) << formatter.status().ToString();
  if (!formatter.ok()) return "";
  logger.set_formatter(std::move(formatter).value());
  log(logger);
  logger.flush();
  return out.str();
}

TEST(JsonLogs, EachLineIsAnObjectWithLevelMessageAndTime) {
  std::string text = LogWith("json", [](spdlog::logger& l) {
    l.warn("quote \" backslash \\ newline \n tab \t end");
    l.info("bad utf-8 \xff here");
  });
  std::istringstream lines(text);
  std::string first, second, none;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, none));  // the newline in the message stayed escaped
  auto a = nlohmann::json::parse(first);
  EXPECT_EQ(a["level"], "warning");
  EXPECT_EQ(a["msg"], "quote \" backslash \\ newline \n tab \t end");
  EXPECT_TRUE(a["thread"].is_number());
  std::string ts = a["ts"];
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2026-11-29T19:50:39.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_FALSE(a.contains("request_id"));
  auto b = nlohmann::json::parse(second);
  EXPECT_EQ(b["level"], "info");
  EXPECT_EQ(b["msg"], "bad utf-8 \xEF\xBF\xBD here");
}

TEST(JsonLogs, LinesCarryTheRequestAndTraceIdsOfTheirThreadsContext) {
  std::string text = LogWith("json", [](spdlog::logger& l) {
    LogContext outer("req-1");
    l.info("outer");
    {
      LogContext inner("req-2", "4bf92f3577b34da6a3ce929d0e0e4736");
      l.info("inner");
    }
    l.info("outer again");
  });
  std::istringstream lines(text);
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0]["request_id"], "req-1");
  EXPECT_FALSE(parsed[0].contains("trace_id"));
  EXPECT_EQ(parsed[1]["request_id"], "req-2");
  EXPECT_EQ(parsed[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed[2]["request_id"], "req-1");
  EXPECT_EQ(LogContext::Current(), nullptr);
}

TEST(JsonLogs, TextFormatStaysPlainAndAnUnknownFormatIsAnError) {
  std::string text = LogWith("text", [](spdlog::logger& l) { l.error("plain"); });
  EXPECT_NE(text.find("error plain"), std::string::npos) << text;
  EXPECT_EQ(text.find('{'), std::string::npos);
  EXPECT_EQ(NewLogFormatter("xml").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace flare
