// The standard Prometheus process metrics (process_cpu_seconds_total,
// process_resident_memory_bytes, ...) and the machine's memory and cores,
// read at scrape time: alerts on CPU and memory use need them as ratios.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flare {

struct ProcessFigures {
  double cpu_seconds = 0;  // user + system
  int64_t resident_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  int64_t open_fds = 0;
  int64_t max_fds = 0;  // the soft limit
  int64_t machine_memory_bytes = 0;
  int64_t machine_cpu_cores = 0;  // the cores this process may run on
};

// Fields of /proc/<pid>/stat: utime + stime, starttime and rss, converted
// with the clock tick rate, the page size and the boot time (seconds since
// the epoch). nullopt if the text does not parse.
struct ProcStat {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  int64_t resident_bytes = 0;
};
std::optional<ProcStat> ParseProcStat(std::string_view stat, long ticks_per_second, long page_size,
                                      double boot_time_seconds);
// "btime" of /proc/stat.
std::optional<double> ParseBootTime(std::string_view proc_stat);
// "MemTotal" of /proc/meminfo, in bytes.
std::optional<int64_t> ParseMemTotalBytes(std::string_view meminfo);

// This process's figures now; what cannot be read stays 0.
ProcessFigures ReadProcessFigures();
// The figures in the Prometheus text format, with HELP and TYPE.
std::string RenderProcessMetrics();

}  // namespace flare
