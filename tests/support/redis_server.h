// Test support: a real redis-server child process on a free loopback port in
// a temporary directory, with no persistence. Stop() and Start() keep the
// port, so tests can restart the server under a connected client.
#pragma once

#include <vector>

#include <functional>

#include <sys/types.h>

#include <cstdint>
#include <string>

struct redisReply;

namespace flare::testing {

class RedisServer {
 public:
  RedisServer();  // picks a free port, creates the directory and starts
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();

  // Starts on the same port and waits (polling PING, with a deadline) until
  // it answers; false if it does not.
  bool Start();
  void Stop();  // SIGTERM and reap; no-op when stopped
  bool FlushAll();
  // Runs one command through a connection of its own; `check` (if any)
  // sees the reply. False if the server did not answer or answered an error.
  bool Run(const std::vector<std::string>& args,
           const std::function<void(redisReply*)>& check = {}) const;

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  bool Ping() const;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace flare::testing
