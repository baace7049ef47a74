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
};

// Open descriptors of `pid` (its /proc/<pid>/fd entries), or -1.
int64_t CountOpenFds(pid_t pid);
// Bytes of every "*-wal" file under `dir` (0 if none or no dir).
int64_t WalBytes(const std::string& dir);

class Sampler {
 public:
  // Samples `pids` (summed) and `data_dir` every `every_s` seconds into
  // `csv_path` (header first).
  Sampler(std::vector<pid_t> pids, std::string data_dir, double every_s, std::string csv_path);
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

  const std::vector<pid_t> pids_;
  const std::string data_dir_;
  const double every_s_;
  const std::string csv_path_;
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
