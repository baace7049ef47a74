#include "sampler.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "harness.h"
#include "server_probe.h"

namespace flare::bench {

int64_t CountOpenFds(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return -1;
  int64_t n = 0;
  for (auto end = std::filesystem::directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return -1;
    ++n;
  }
  return n;
}

int64_t WalBytes(const std::string& dir) {
  if (dir.empty()) return 0;
  std::error_code ec;
  int64_t total = 0;
  std::filesystem::recursive_directory_iterator it(dir, ec);
  for (auto end = std::filesystem::recursive_directory_iterator(); !ec && it != end;
       it.increment(ec)) {
    const auto& path = it->path();
    std::string name = path.filename().string();
    if (name.size() < 4 || name.compare(name.size() - 4, 4, "-wal") != 0) continue;
    std::error_code size_ec;
    auto size = std::filesystem::file_size(path, size_ec);
    if (!size_ec) total += static_cast<int64_t>(size);
  }
  return total;
}

Sampler::Sampler(std::vector<pid_t> pids, std::string data_dir, double every_s,
                 std::string csv_path)
    : pids_(std::move(pids)),
      data_dir_(std::move(data_dir)),
      every_s_(every_s),
      csv_path_(std::move(csv_path)) {}

Sampler::~Sampler() { Stop(); }

void Sampler::RecordAck(uint64_t us) {
  std::lock_guard lock(mu_);
  ack_.Record(us);
}

void Sampler::RecordDelivery(uint64_t us) {
  std::lock_guard lock(mu_);
  delivery_.Record(us);
}

void Sampler::Start() {
  csv_ = std::fopen(csv_path_.c_str(), "w");
  csv_ok_ = csv_ != nullptr;
  if (csv_ != nullptr) {
    std::fprintf(csv_,
                 "minute,rss_mib,fds,wal_mib,acked_per_s,ack_p50_ms,ack_p99_ms,delivery_p50_ms,"
                 "delivery_p99_ms\n");
    std::fflush(csv_);
  }
  started_us_ = NowUs();
  thread_ = std::thread([this] { Run(); });
}

void Sampler::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (csv_ != nullptr) csv_ok_ = std::fclose(csv_) == 0 && csv_ok_;
  csv_ = nullptr;
}

void Sampler::Run() {
  auto every = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(every_s_));
  auto next = std::chrono::steady_clock::now() + every;
  std::unique_lock lock(mu_);
  while (!wake_.wait_until(lock, next, [this] { return stop_; })) {
    lock.unlock();
    Take();
    lock.lock();
    next += every;
  }
}

void Sampler::Take() {
  Sample s;
  int64_t now = NowUs();
  s.at_s = static_cast<double>(now - started_us_) / 1e6;
  for (pid_t pid : pids_) {
    if (auto stats = ReadProcStats(pid); stats.ok()) s.rss_bytes += stats->rss_bytes;
    s.fds += std::max<int64_t>(0, CountOpenFds(pid));
  }
  s.wal_bytes = WalBytes(data_dir_);
  Histogram ack, delivery;
  {
    std::lock_guard lock(mu_);
    std::swap(ack, ack_);
    std::swap(delivery, delivery_);
  }
  s.acked = static_cast<int64_t>(ack.count());
  s.ack_p50_us = ack.Quantile(0.5);
  s.ack_p99_us = ack.Quantile(0.99);
  s.delivery_p50_us = delivery.Quantile(0.5);
  s.delivery_p99_us = delivery.Quantile(0.99);
  double interval_s = samples_.empty() ? s.at_s : s.at_s - samples_.back().at_s;
  samples_.push_back(s);
  if (csv_ == nullptr) return;
  constexpr double kMiB = 1048576.0;
  std::fprintf(csv_, "%.2f,%.1f,%lld,%.2f,%.0f,%.2f,%.2f,%.2f,%.2f\n", s.at_s / 60,
               static_cast<double>(s.rss_bytes) / kMiB, static_cast<long long>(s.fds),
               static_cast<double>(s.wal_bytes) / kMiB,
               interval_s > 0 ? static_cast<double>(s.acked) / interval_s : 0.0,
               static_cast<double>(s.ack_p50_us) / 1000, static_cast<double>(s.ack_p99_us) / 1000,
               static_cast<double>(s.delivery_p50_us) / 1000,
               static_cast<double>(s.delivery_p99_us) / 1000);
  if (std::fflush(csv_) != 0) csv_ok_ = false;
}

}  // namespace flare::bench
