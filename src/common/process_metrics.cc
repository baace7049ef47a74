#include "common/process_metrics.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace flare {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value after `key` at the start of a line ("btime 1700000000").
std::optional<int64_t> NumberAfterKey(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.substr(0, key.size()) == key) {
      line.remove_prefix(key.size());
      size_t digits = line.find_first_of("0123456789");
      if (digits == std::string_view::npos) return std::nullopt;
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(line.data() + digits, line.data() + line.size(), value);
      if (ec != std::errc()) return std::nullopt;
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view stat, long ticks_per_second, long page_size,
                                      double boot_time_seconds) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from after its last ')'; that is field 3.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::istringstream fields{std::string(stat.substr(close + 1))};
  std::vector<std::string> after;  // after[0] is field 3 (state)
  for (std::string field; fields >> field;) after.push_back(field);
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStart = 22 - 3, kRss = 24 - 3;
  if (after.size() <= kRss) return std::nullopt;
  auto number = [&after](size_t i) -> std::optional<int64_t> {
    int64_t value = 0;
    const std::string& text = after[i];
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return value;
  };
  auto utime = number(kUtime), stime = number(kStime), start = number(kStart), rss = number(kRss);
  if (!utime || !stime || !start || !rss) return std::nullopt;
  const auto ticks = static_cast<double>(ticks_per_second);
  ProcStat out;
  out.cpu_seconds = static_cast<double>(*utime + *stime) / ticks;
  out.start_time_seconds = boot_time_seconds + static_cast<double>(*start) / ticks;
  out.resident_bytes = *rss * page_size;
  return out;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  auto value = NumberAfterKey(proc_stat, "btime ");
  if (!value) return std::nullopt;
  return static_cast<double>(*value);
}

std::optional<int64_t> ParseMemTotalBytes(std::string_view meminfo) {
  auto kib = NumberAfterKey(meminfo, "MemTotal:");
  if (!kib) return std::nullopt;
  return *kib * 1024;
}

ProcessFigures ReadProcessFigures() {
  ProcessFigures f;
  double boot = ParseBootTime(ReadFile("/proc/stat")).value_or(0);
  if (auto stat = ParseProcStat(ReadFile("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                                sysconf(_SC_PAGESIZE), boot)) {
    f.cpu_seconds = stat->cpu_seconds;
    f.start_time_seconds = stat->start_time_seconds;
    f.resident_bytes = stat->resident_bytes;
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++f.open_fds;
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) f.max_fds = static_cast<int64_t>(lim.rlim_cur);
  f.machine_memory_bytes = ParseMemTotalBytes(ReadFile("/proc/meminfo")).value_or(0);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) f.machine_cpu_cores = CPU_COUNT(&cpus);
  return f;
}

std::string RenderProcessMetrics() {
  ProcessFigures f = ReadProcessFigures();
  std::string out;
  auto add = [&out](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  add("process_cpu_seconds_total", "counter", "user and system CPU time spent, in seconds",
      f.cpu_seconds);
  add("process_resident_memory_bytes", "gauge", "resident memory size in bytes", f.resident_bytes);
  add("process_start_time_seconds", "gauge", "start time of the process since the Unix epoch",
      f.start_time_seconds);
  add("process_open_fds", "gauge", "open file descriptors", f.open_fds);
  add("process_max_fds", "gauge", "the soft limit on open file descriptors", f.max_fds);
  add("flare_machine_memory_bytes", "gauge",
      "physical memory of the machine (MemTotal of /proc/meminfo), in bytes",
      f.machine_memory_bytes);
  add("flare_machine_cpu_cores", "gauge",
      "CPU cores this process may run on (its affinity mask; cgroup quotas not included)",
      f.machine_cpu_cores);
  return out;
}

}  // namespace flare
