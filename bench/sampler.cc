#include "sampler.h"

#include <curl/curl.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
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

int64_t PressureStallUs(const std::string& resource) {
  std::ifstream in("/proc/pressure/" + resource);
  std::string kind;
  while (in >> kind) {
    std::string rest;
    std::getline(in, rest);
    if (kind != "some") continue;
    auto at = rest.find("total=");
    if (at == std::string::npos) return -1;
    return std::stoll(rest.substr(at + 6));
  }
  return -1;
}

bool ReadHistogramTotals(const std::string& exposition, const std::string& histogram, double* sum,
                         int64_t* count) {
  bool found = false;
  std::istringstream lines(exposition);
  std::string name;
  while (lines >> name) {
    std::string value;
    std::getline(lines, value);
    if (name == histogram + "_sum") {
      *sum += std::strtod(value.c_str(), nullptr);
      found = true;
    } else if (name == histogram + "_count") {
      *count += std::strtoll(value.c_str(), nullptr, 10);
    }
  }
  return found;
}

namespace {

// The host's steal and total CPU ticks (first line of /proc/stat).
void ReadCpuTicks(Usage& usage) {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  int64_t ticks[8] = {};  // user nice system idle iowait irq softirq steal
  for (int64_t& t : ticks) in >> t;
  if (!in || cpu != "cpu") return;
  usage.steal_ticks = ticks[7];
  for (int64_t t : ticks) usage.all_ticks += t;
}

size_t AppendTo(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The body of GET http://host:port/path, or "" on any failure or after 2 s.
std::string HttpGetBody(const std::string& host, uint16_t port, const std::string& path) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "";
  std::string url = "http://" + host + ":" + std::to_string(port) + path, body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK ? body : "";
}

double Percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

}  // namespace

Sampler::Sampler(std::vector<pid_t> pids, std::string data_dir, double every_s,
                 std::string csv_path, std::string host, std::vector<uint16_t> metrics_ports)
    : pids_(std::move(pids)),
      data_dir_(std::move(data_dir)),
      every_s_(every_s),
      csv_path_(std::move(csv_path)),
      host_(std::move(host)),
      metrics_ports_(std::move(metrics_ports)) {}

Usage Sampler::ReadUsage() const {
  Usage usage;
  for (pid_t pid : pids_) {
    if (auto stats = ReadProcStats(pid); stats.ok()) usage.server_cpu_s += stats->cpu_seconds;
  }
  usage.cpu_pressure_us = PressureStallUs("cpu");
  usage.io_pressure_us = PressureStallUs("io");
  ReadCpuTicks(usage);
  for (uint16_t port : metrics_ports_) {
    ReadHistogramTotals(HttpGetBody(host_, port, "/metrics"), "flare_store_checkpoint_seconds",
                        &usage.checkpoint_s, &usage.checkpoints);
  }
  return usage;
}

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
                 "delivery_p99_ms,server_cpu_pct,cpu_pressure_pct,io_pressure_pct,steal_pct,"
                 "checkpoints,checkpoint_pct\n");
    std::fflush(csv_);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread: it is not thread-safe
  last_usage_ = ReadUsage();
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
  AddUsage(s, interval_s);
  samples_.push_back(s);
  if (csv_ == nullptr) return;
  constexpr double kMiB = 1048576.0;
  std::fprintf(csv_, "%.2f,%.1f,%lld,%.2f,%.0f,%.2f,%.2f,%.2f,%.2f", s.at_s / 60,
               static_cast<double>(s.rss_bytes) / kMiB, static_cast<long long>(s.fds),
               static_cast<double>(s.wal_bytes) / kMiB,
               interval_s > 0 ? static_cast<double>(s.acked) / interval_s : 0.0,
               static_cast<double>(s.ack_p50_us) / 1000, static_cast<double>(s.ack_p99_us) / 1000,
               static_cast<double>(s.delivery_p50_us) / 1000,
               static_cast<double>(s.delivery_p99_us) / 1000);
  std::fprintf(csv_, ",%.1f,%.1f,%.1f,%.1f,%lld,%.1f\n", s.server_cpu_pct, s.cpu_pressure_pct,
               s.io_pressure_pct, s.steal_pct, static_cast<long long>(s.checkpoints),
               s.checkpoint_pct);
  if (std::fflush(csv_) != 0) csv_ok_ = false;
}

void Sampler::AddUsage(Sample& s, double interval_s) {
  Usage now = ReadUsage();
  const Usage& then = last_usage_;
  double interval_us = interval_s * 1e6;
  s.server_cpu_pct = Percent(now.server_cpu_s - then.server_cpu_s, interval_s);
  if (now.cpu_pressure_us >= 0 && then.cpu_pressure_us >= 0) {
    s.cpu_pressure_pct =
        Percent(static_cast<double>(now.cpu_pressure_us - then.cpu_pressure_us), interval_us);
  }
  if (now.io_pressure_us >= 0 && then.io_pressure_us >= 0) {
    s.io_pressure_pct =
        Percent(static_cast<double>(now.io_pressure_us - then.io_pressure_us), interval_us);
  }
  s.steal_pct = Percent(static_cast<double>(now.steal_ticks - then.steal_ticks),
                        static_cast<double>(now.all_ticks - then.all_ticks));
  s.checkpoints = now.checkpoints - then.checkpoints;
  s.checkpoint_pct = Percent(now.checkpoint_s - then.checkpoint_s, interval_s);
  last_usage_ = now;
}

}  // namespace flare::bench
