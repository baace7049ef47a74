// PresenceBus on Redis pub/sub, for gateways in several processes that
// share one Redis server (presence.backend = "redis").
//
// Channel per tenant: flare:<tenant>:presence (tenant percent-encoded as in
// the route keys); message: "<n>:<user>" then the payload. Every bus
// subscribes to the pattern flare:*:presence on a dedicated connection read
// by its own thread, which calls the listeners; Publish uses a second
// connection behind a mutex (reconnected by the next Publish after a
// failure, retried once). When the subscriber connection breaks, the thread
// reconnects (backing off up to 1 s) and subscribes again; notices published
// meanwhile are lost to this gateway.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/redis/redis_connection.h"
#include "ports/presence_bus.h"

namespace flare {

struct RedisPresenceBusOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

class RedisPresenceBus final : public PresenceBus {
 public:
  // Connects both connections and subscribes before returning, so a notice
  // published after Open() reaches this bus.
  static Result<std::shared_ptr<RedisPresenceBus>> Open(const RedisPresenceBusOptions& options);
  ~RedisPresenceBus() override;
  RedisPresenceBus(const RedisPresenceBus&) = delete;
  RedisPresenceBus& operator=(const RedisPresenceBus&) = delete;

  Status Publish(const std::string& tenant, const std::string& user_id,
                 const std::string& payload) override;

  static std::string Channel(const std::string& tenant);

 private:
  RedisPresenceBus(const RedisPresenceBusOptions& options, const RedisUrl& url);
  Status Subscribe();  // (re)connects the subscriber connection and subscribes
  void ReadLoop();
  void Dispatch(std::string_view channel, std::string_view message);

  std::mutex publish_mu_;
  RedisConnection publisher_;
  RedisConnection subscriber_;  // used by the reader thread (and Open)
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::thread reader_;
};

}  // namespace flare
