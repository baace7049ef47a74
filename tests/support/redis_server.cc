#include "support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "support/free_port.h"

extern char** environ;

namespace flare::testing {
namespace {

bool Command(uint16_t port, const char* command) {
  timeval tv{1, 0};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx == nullptr) return false;
  bool ok = false;
  if (ctx->err == 0) {
    redisSetTimeout(ctx, tv);
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, command));
    ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(ctx);
  return ok;
}

}  // namespace

RedisServer::RedisServer() {
  char tmpl[] = "/tmp/flare-redis-XXXXXX";
  dir_ = mkdtemp(tmpl);
  port_ = FreePort();
  Start();
}

RedisServer::~RedisServer() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool RedisServer::Ping() const { return Command(port_, "PING"); }

bool RedisServer::FlushAll() { return Command(port_, "FLUSHALL"); }

bool RedisServer::Start() {
  if (running()) return true;
  std::string port = std::to_string(port_);
  std::vector<std::string> args = {
      "redis-server", "--port", port,    "--bind", "127.0.0.1", "--save",     "",
      "--appendonly", "no",     "--dir", dir_,     "--logfile", dir_ + "/log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) return false;
  pid_ = pid;
  // Poll PING with a deadline; a server that exited is reaped and reported.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Ping()) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
  }
  Stop();
  return false;
}

void RedisServer::Stop() {
  if (!running()) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RedisServer::Run(const std::vector<std::string>& args,
                      const std::function<void(redisReply*)>& check) const {
  timeval tv{2, 0};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port_, tv);
  bool ok = false;
  if (ctx != nullptr && ctx->err == 0) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r != nullptr) {
      ok = r->type != REDIS_REPLY_ERROR;
      if (check) check(r);
      freeReplyObject(r);
    }
  }
  if (ctx != nullptr) redisFree(ctx);
  return ok;
}

}  // namespace flare::testing
