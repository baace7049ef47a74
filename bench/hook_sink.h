// flare-bench --hook-delay-ms: a local webhook receiver the bench starts
// (HTTP/1.1 keep-alive, a thread per connection; verifies each call's
// signature as a business server would, answers "allow" after the delay),
// and the pre-send hook that points the spawned server at it, put through
// the server's hook admin API (hooks.v1.HookAdminService).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace flare::bench {

class HookSink {
 public:
  static Result<std::unique_ptr<HookSink>> Start(std::string secret, int delay_ms);
  ~HookSink();
  std::string url() const;
  int64_t calls() const { return calls_.load(); }
  int64_t bad_signatures() const { return bad_signatures_.load(); }

 private:
  HookSink(std::string secret, int delay_ms) : secret_(std::move(secret)), delay_ms_(delay_ms) {}
  void Accept();
  void Serve(int fd);

  std::string secret_;
  int delay_ms_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int64_t> calls_{0}, bad_signatures_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// Puts a fail_closed pre-send hook named "bench" at `url` on the server
// whose admin API listens on 127.0.0.1:`admin_port`.
Status PutBenchHook(int admin_port, const std::string& token, const std::string& url,
                    const std::string& secret);

}  // namespace flare::bench
