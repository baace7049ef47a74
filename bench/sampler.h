// flare-bench --samples: the server's health sampled at a fixed interval
// during a run (a soak is a long mixed run with it): its RSS, open file
// descriptors and SQLite WAL bytes, and the ack and delivery latency of the
// messages of each interval. Rows are appended to a CSV as they are taken
// (a run cut short keeps what it sampled) and plotted at the end.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "histogram.h"

namespace flare::bench {

struct Sample {
  double at_s = 0;  // since sampling started
  int64_t rss_bytes = 0, fds = 0, wal_bytes = 0;
  int64_t acked = 0;  // acks in the interval
  uint64_t ack_p50_us = 0, ack_p99_us = 0, delivery_p50_us = 0, delivery_p99_us = 0;
  // Over the interval, in percent of it: the server's CPU (100 = one core);
  // the host's CPU and I/O pressure (time some task waited for a CPU, or for
  // I/O: /proc/pressure) and CPU steal (time the hypervisor ran others);
  // and the time the server's writer spent in checkpoints (its
  // flare_store_checkpoint_seconds), with how many there were.
  double server_cpu_pct = 0, cpu_pressure_pct = 0, io_pressure_pct = 0, steal_pct = 0;
  double checkpoint_pct = 0;
  int64_t checkpoints = 0;
};

// What the host and the server have used so far; a sample is the
// difference of two.
struct Usage {
  double server_cpu_s = 0;
  int64_t cpu_pressure_us = -1, io_pressure_us = -1;  // -1: no /proc/pressure
  int64_t steal_ticks = 0, all_ticks = 0;
  double checkpoint_s = 0;
  int64_t checkpoints = 0;
};

// The "some" total of /proc/pressure/<resource> in microseconds, or -1.
int64_t PressureStallUs(const std::string& resource);
// The sum and count of `histogram` in a Prometheus text exposition (the
// unlabelled series), added to *sum and *count; false if absent.
bool ReadHistogramTotals(const std::string& exposition, const std::string& histogram, double* sum,
                         int64_t* count);

// Open descriptors of `pid` (its /proc/<pid>/fd entries), or -1.
int64_t CountOpenFds(pid_t pid);
// Bytes of every "*-wal" file under `dir` (0 if none or no dir).
int64_t WalBytes(const std::string& dir);

class Sampler {
 public:
  // Samples `pids` (summed) and `data_dir` every `every_s` seconds into
  // `csv_path` (header first), and the /metrics of the HTTP servers at
  // `host`:`metrics_ports` (summed; none answering leaves the checkpoint
  // columns at 0).
  Sampler(std::vector<pid_t> pids, std::string data_dir, double every_s, std::string csv_path,
          std::string host = "127.0.0.1", std::vector<uint16_t> metrics_ports = {});
  ~Sampler();

  // Any thread: one message's latency.
  void RecordAck(uint64_t us);
  void RecordDelivery(uint64_t us);

  void Start();
  // Stops (the interval in progress is not sampled: the run is over).
  void Stop();
  // After Stop.
  const std::vector<Sample>& samples() const { return samples_; }
  bool csv_ok() const { return csv_ok_; }

 private:
  void Run();
  void Take();
  Usage ReadUsage() const;
  void AddUsage(Sample& s, double interval_s);  // the usage since the last sample

  const std::vector<pid_t> pids_;
  const std::string data_dir_;
  const double every_s_;
  const std::string csv_path_;
  const std::string host_;
  const std::vector<uint16_t> metrics_ports_;
  Usage last_usage_;  // the sampling thread's
  std::FILE* csv_ = nullptr;
  bool csv_ok_ = false;
  std::mutex mu_;  // the interval's histograms and stop_
  std::condition_variable wake_;
  bool stop_ = false;
  Histogram ack_, delivery_;
  int64_t started_us_ = 0;
  std::vector<Sample> samples_;  // the sampling thread's until Stop
  std::thread thread_;
};

}  // namespace flare::bench
