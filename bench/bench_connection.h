// flare-bench's WebSocket connection: many of them share one io_context
// thread, unlike the client library's one-thread-per-client design. Beast
// lives only in bench_connection.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace flare::bench {

class IoThreads;  // a pool of io_context threads

class BenchConnection {
 public:
  using OnFrame = std::function<void(std::string_view data)>;
  using OnDone = std::function<void(bool ok, const std::string& error)>;

  virtual ~BenchConnection() = default;
  // Connects from `source_ip` (empty: any) to host:port and upgrades on
  // `target`; `done` reports the outcome. Frames then go to `on_frame`.
  virtual void Start(const std::string& source_ip, const std::string& host, uint16_t port,
                     const std::string& target, OnFrame on_frame, OnDone done) = 0;
  // Thread-safe: queues one binary message.
  virtual void Send(std::shared_ptr<const std::string> bytes) = 0;
  virtual void Close() = 0;
  // Runs `fn` after `ms` on this connection's thread (where its frames are
  // handled), unless the threads stop first.
  virtual void After(int64_t ms, std::function<void()> fn) = 0;
};

class IoThreads {
 public:
  virtual ~IoThreads() = default;
  static std::unique_ptr<IoThreads> Create(int threads);
  virtual std::shared_ptr<BenchConnection> NewConnection() = 0;
  // Runs `fn` after `ms` on one of the threads.
  virtual void After(int64_t ms, std::function<void()> fn) = 0;
  virtual void Stop() = 0;
};

}  // namespace flare::bench
