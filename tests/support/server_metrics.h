// Test support: figures from a `flare serve`'s /metrics, and presence as a
// client sees it, each waited for with a deadline.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "support/server_process.h"

namespace flare::testing {

// The value of a counter on /metrics, summed over its labels (-1 if it is
// not there).
inline int64_t Metric(const ServerProcess& server, const std::string& name) {
  std::istringstream text(server.HttpGet("/metrics"));
  int64_t sum = -1;
  for (std::string line; std::getline(text, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum = std::max<int64_t>(sum, 0) + std::strtoll(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
  }
  return sum;
}

// `figure()` once it reaches `want`, or its last value after 10 s.
template <typename Figure>
int64_t WaitForFigure(const Figure& figure, int64_t want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t got = figure();
  while (got < want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, not a wait
    got = figure();
  }
  return got;
}

// Waits (with a deadline) until the counter reaches `want`.
inline int64_t WaitForMetric(const ServerProcess& server, const std::string& name, int64_t want) {
  return WaitForFigure([&] { return Metric(server, name); }, want);
}

// Waits until `asker` sees `user` offline: the route is gone.
inline bool WaitOffline(FlareClient& asker, const std::string& user) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    ::flare::client::v1::ClientFrame frame;
    frame.mutable_presence()->add_query(user);
    auto reply = asker.Call(std::move(frame));
    if (reply.ok() && reply->has_presence_result() &&
        reply->presence_result().statuses_size() == 1 &&
        !reply->presence_result().statuses(0).online()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace flare::testing
