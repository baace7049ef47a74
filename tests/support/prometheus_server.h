// Test support: a real `prometheus` child process on a free loopback port
// in a temporary directory, scraping what the caller's configuration says,
// and a small client for its HTTP API.
#pragma once

#include <thread>

#include <chrono>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace flare::testing {

class PrometheusServer {
 public:
  // Writes `files` (name -> text; "prometheus.yml" is the configuration)
  // into a new temporary directory and starts prometheus on it; waits
  // (polling /-/ready with a deadline) until it is ready. running() is
  // false if it did not start; error() then says why.
  explicit PrometheusServer(const std::map<std::string, std::string>& files);
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;
  ~PrometheusServer();

  bool running() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  // GET /api/v1/<path> (path includes any query string); the "data" member
  // of a successful answer, null otherwise.
  nlohmann::json Api(const std::string& path) const;

 private:
  bool Ready() const;
  std::string Log() const;  // prometheus's own output, for failure messages
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

// The output and exit status of `command` run by /bin/sh.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);

// The whole file at `path` (a test failure if it cannot be read).
std::string ReadFile(const std::string& path);

// Polls `probe` until it returns true or `seconds` pass (Prometheus's
// answers change only with its scrapes and evaluations).
template <typename Probe>
bool PollFor(int seconds, Probe probe) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll interval
  }
  return probe();
}

}  // namespace flare::testing
