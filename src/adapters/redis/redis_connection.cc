#include "adapters/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace flare {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

std::string_view ReplyString(const redisReply* r) {
  return r->str == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}

bool IsError(const redisReply* r) { return r->type == REDIS_REPLY_ERROR; }

std::string RedisServerName(const RedisUrl& url) {
  return "redis://" + url.host + ":" + std::to_string(url.port) + "/" + std::to_string(url.db);
}

void IgnoreSigpipeOnce() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

RedisConnection::RedisConnection(RedisUrl url, std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds command_timeout)
    : url_(std::move(url)), connect_timeout_(connect_timeout), command_timeout_(command_timeout) {}

RedisConnection::~RedisConnection() { Close(); }

Status RedisConnection::Unavailable(const std::string& what) const {
  return flare::Unavailable("redis server " + RedisServerName(url_) + ": " + what);
}

void RedisConnection::Close() {
  if (ctx_ == nullptr) return;
  std::lock_guard lock(fd_mu_);  // the socket is not closed under an Interrupt()
  fd_ = -1;
  redisFree(ctx_);
  ctx_ = nullptr;
}

void RedisConnection::Interrupt() {
  std::lock_guard lock(fd_mu_);
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
}

Status RedisConnection::Broken(const std::string& what) {
  Status st = Unavailable(what + ": " + (ctx_ != nullptr ? ctx_->errstr : "not connected"));
  Close();
  return st;
}

Status RedisConnection::Connect() {
  Close();
  redisContext* ctx =
      redisConnectWithTimeout(url_.host.c_str(), url_.port, ToTimeval(connect_timeout_));
  if (ctx == nullptr) return Unavailable("cannot allocate a connection");
  if (ctx->err != 0) {
    Status st = Unavailable(std::string("cannot connect: ") + ctx->errstr);
    redisFree(ctx);
    return st;
  }
  // A zero command timeout blocks without limit (a pub/sub reader).
  if (command_timeout_.count() > 0) redisSetTimeout(ctx, ToTimeval(command_timeout_));
  redisEnableKeepAlive(ctx);
  ctx_ = ctx;
  {
    std::lock_guard lock(fd_mu_);
    fd_ = ctx->fd;
  }
  std::vector<RedisCommand> setup;
  if (!url_.password.empty()) {
    setup.push_back(url_.user.empty() ? RedisCommand{"AUTH", url_.password}
                                      : RedisCommand{"AUTH", url_.user, url_.password});
  }
  if (url_.db != 0) setup.push_back({"SELECT", std::to_string(url_.db)});
  if (setup.empty()) return Status::Ok();
  auto replies = Pipeline(setup);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < replies->size(); ++i) {
    if (IsError((*replies)[i].get())) {
      Status st =
          Unavailable(setup[i][0] + " failed: " + std::string(ReplyString((*replies)[i].get())));
      Close();
      return st;
    }
  }
  return Status::Ok();
}

Result<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<RedisCommand>& commands) {
  if (ctx_ == nullptr) return Unavailable("not connected");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return Broken(args[0] + " failed");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (const auto& args : commands) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      return Broken(args[0] + " failed");
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Result<RedisReply> RedisConnection::Command(const RedisCommand& command) {
  auto replies = Pipeline({command});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

Result<RedisReply> RedisConnection::Read() {
  if (ctx_ == nullptr) return Unavailable("not connected");
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return Broken("read failed");
  return RedisReply(static_cast<redisReply*>(raw));
}

}  // namespace flare
