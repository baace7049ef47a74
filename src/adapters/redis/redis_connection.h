// One blocking hiredis connection (connect and command timeouts, AUTH and
// SELECT from the URL) with pipelined commands. Not thread-safe: the owner
// serialises calls. A command that finds the connection broken closes it;
// the owner reconnects when it wants to.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_url.h"
#include "common/result.h"

struct redisContext;
struct redisReply;

namespace flare {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;
using RedisCommand = std::vector<std::string>;

class RedisConnection {
 public:
  RedisConnection(RedisUrl url, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds command_timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // (Re)connects; errors are kUnavailable naming the server.
  Status Connect();
  void Close();
  bool connected() const { return ctx_ != nullptr; }
  // Sends every command, then reads every reply (one round trip). Error
  // replies are returned as replies; a broken connection is kUnavailable
  // and closes the connection.
  Result<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands);
  Result<RedisReply> Command(const RedisCommand& command);
  // Reads one more reply (pub/sub); a broken connection closes it.
  Result<RedisReply> Read();
  // Ends a Read() blocked in another thread (shuts the socket down).
  void Interrupt();

  Status Unavailable(const std::string& what) const;
  const RedisUrl& url() const { return url_; }

 private:
  Status Broken(const std::string& what);
  const RedisUrl url_;
  const std::chrono::milliseconds connect_timeout_, command_timeout_;
  redisContext* ctx_ = nullptr;
  std::mutex fd_mu_;
  int fd_ = -1;  // ctx_'s socket, for Interrupt() from another thread
};

std::string_view ReplyString(const redisReply* r);
bool IsError(const redisReply* r);
// "redis://host:port/db" (no credentials), for messages.
std::string RedisServerName(const RedisUrl& url);
// Ignores SIGPIPE if it still has its default action: a write on a
// connection the server closed must fail with EPIPE, not end the process.
void IgnoreSigpipeOnce();

}  // namespace flare
