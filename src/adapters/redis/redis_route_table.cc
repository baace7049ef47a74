#include "adapters/redis/redis_route_table.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <charconv>
#include <optional>

namespace flare {
namespace {

// KEYS[1]: the user's routes hash. ARGV: session id, encoded route, platform,
// policy (0 coexist, 1 platform_exclusive, 2 exclusive), TTL in seconds.
// Returns the displaced session ids. Mirrors Displaces() in the port header.
constexpr const char* kLoginScript = R"lua(
local function platform_of(v)
  local colon = string.find(v, ':', 1, true)
  if not colon then return nil end
  local n = tonumber(string.sub(v, 1, colon - 1))
  return string.sub(v, colon + 1, colon + n)
end
local displaced = {}
if ARGV[4] ~= '0' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local sid = all[i]
    if sid ~= ARGV[1] and (ARGV[4] == '2' or platform_of(all[i + 1]) == ARGV[3]) then
      displaced[#displaced + 1] = sid
    end
  end
  for _, sid in ipairs(displaced) do redis.call('HDEL', KEYS[1], sid) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return displaced
)lua";

std::string EncodeTenant(const std::string& tenant) {
  std::string out;
  for (char c : tenant) {
    if (c == ':') {
      out += "%3A";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendField(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

std::string EncodeRoute(const DeviceRoute& route) {
  std::string out;
  AppendField(out, route.platform);
  AppendField(out, route.gateway_id);
  AppendField(out, route.device);
  return out;
}

bool TakeField(std::string_view& in, std::string& field) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(in.data(), in.data() + colon, n);
  if (ec != std::errc() || ptr != in.data() + colon || n > in.size() - colon - 1) return false;
  field.assign(in.substr(colon + 1, n));
  in.remove_prefix(colon + 1 + n);
  return true;
}

std::optional<uint64_t> ParseSessionId(const char* s, size_t len) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s, s + len, v);
  if (ec != std::errc() || ptr != s + len) return std::nullopt;
  return v;
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string ServerName(const RedisUrl& url) {
  return "redis://" + url.host + ":" + std::to_string(url.port) + "/" + std::to_string(url.db);
}

}  // namespace

void RedisRouteTable::ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

std::string RedisRouteTable::RoutesKey(const std::string& tenant, const std::string& user_id) {
  return "flare:" + EncodeTenant(tenant) + ":routes:" + user_id;
}

Result<std::shared_ptr<RedisRouteTable>> RedisRouteTable::Open(
    const RedisRouteTableOptions& options) {
  auto url = ParseRedisUrl(options.url);
  if (!url.ok()) return url.status();
  // hiredis writes with write(2): a write on a connection the server closed
  // must fail with EPIPE, not kill the process. `flare serve` ignores SIGPIPE
  // already; do the same for other hosts that left the default action.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
  std::shared_ptr<RedisRouteTable> table(new RedisRouteTable(options, *url));
  std::lock_guard lock(table->mu_);
  FLARE_RETURN_IF_ERROR(table->ConnectLocked());
  return table;
}

RedisRouteTable::RedisRouteTable(RedisRouteTableOptions options, RedisUrl url)
    : options_(std::move(options)), url_(std::move(url)) {}

RedisRouteTable::~RedisRouteTable() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Status RedisRouteTable::Unavailable(const std::string& what) const {
  return flare::Unavailable("redis server " + ServerName(url_) + ": " + what);
}

Status RedisRouteTable::ConnectLocked() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  redisContext* ctx =
      redisConnectWithTimeout(url_.host.c_str(), url_.port, ToTimeval(options_.connect_timeout));
  if (ctx == nullptr) return Unavailable("cannot allocate a connection");
  if (ctx->err != 0) {
    Status st = Unavailable(std::string("cannot connect: ") + ctx->errstr);
    redisFree(ctx);
    return st;
  }
  redisSetTimeout(ctx, ToTimeval(options_.command_timeout));
  redisEnableKeepAlive(ctx);
  // The set-up commands: AUTH, SELECT, SCRIPT LOAD.
  std::vector<std::vector<std::string>> setup;
  if (!url_.password.empty()) {
    if (url_.user.empty()) {
      setup.push_back({"AUTH", url_.password});
    } else {
      setup.push_back({"AUTH", url_.user, url_.password});
    }
  }
  if (url_.db != 0) setup.push_back({"SELECT", std::to_string(url_.db)});
  setup.push_back({"SCRIPT", "LOAD", kLoginScript});
  for (const auto& args : setup) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
    Status st;
    if (reply == nullptr) {
      st = Unavailable(std::string("connection set-up failed: ") + ctx->errstr);
    } else if (reply->type == REDIS_REPLY_ERROR) {
      st = Unavailable(args[0] + " failed: " + std::string(reply->str, reply->len));
    } else if (args[0] == "SCRIPT" && reply->type == REDIS_REPLY_STRING) {
      script_sha_.assign(reply->str, reply->len);
    }
    if (!st.ok()) {
      redisFree(ctx);
      return st;
    }
  }
  ctx_ = ctx;
  return Status::Ok();
}

Result<RedisRouteTable::Reply> RedisRouteTable::CommandLocked(const std::vector<std::string>& args,
                                                              bool retry) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  for (int attempt = 0;; ++attempt) {
    bool fresh = ctx_ == nullptr;
    if (fresh) FLARE_RETURN_IF_ERROR(ConnectLocked());
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (raw != nullptr) return Reply(raw);
    std::string err = ctx_->errstr;
    redisFree(ctx_);  // broken: the next call (or the retry) reconnects
    ctx_ = nullptr;
    if (!retry || fresh || attempt > 0) return Unavailable(args[0] + " failed: " + err);
  }
}

Status RedisRouteTable::RunScript(const std::string& key, const DeviceRoute& route,
                                  LoginConflict policy, bool retry,
                                  std::vector<uint64_t>* displaced) {
  const char* policy_arg = policy == LoginConflict::kExclusive           ? "2"
                           : policy == LoginConflict::kPlatformExclusive ? "1"
                                                                         : "0";
  std::lock_guard lock(mu_);  // also guards script_sha_, set by ConnectLocked
  std::vector<std::string> args = {"EVALSHA",
                                   script_sha_,
                                   "1",
                                   key,
                                   std::to_string(route.session_id),
                                   EncodeRoute(route),
                                   route.platform,
                                   policy_arg,
                                   std::to_string(options_.route_ttl_s)};
  auto reply = CommandLocked(args, retry);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR &&
      std::string_view((*reply)->str, (*reply)->len).starts_with("NOSCRIPT")) {
    args[0] = "EVAL";  // the server lost its script cache (restart, SCRIPT FLUSH)
    args[1] = kLoginScript;
    reply = CommandLocked(args, false);
    if (!reply.ok()) return reply.status();
  }
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_ERROR) {
    return Unavailable("login script failed: " + std::string(r->str, r->len));
  }
  if (r->type != REDIS_REPLY_ARRAY) return Internal("redis login script: unexpected reply");
  if (displaced == nullptr) return Status::Ok();
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (e->type != REDIS_REPLY_STRING) continue;
    if (auto sid = ParseSessionId(e->str, e->len)) displaced->push_back(*sid);
  }
  return Status::Ok();
}

Status RedisRouteTable::Register(const std::string& tenant, const std::string& user_id,
                                 const DeviceRoute& route) {
  // The login script with "coexist": one atomic HSET + EXPIRE; safe to retry.
  return RunScript(RoutesKey(tenant, user_id), route, LoginConflict::kCoexist, true, nullptr);
}

Status RedisRouteTable::RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                           const DeviceRoute& route, LoginConflict policy,
                                           std::vector<uint64_t>& displaced) {
  return RunScript(RoutesKey(tenant, user_id), route, policy, false, &displaced);
}

Status RedisRouteTable::Unregister(const std::string& tenant, const std::string& user_id,
                                   uint64_t session_id) {
  std::lock_guard lock(mu_);
  auto reply =
      CommandLocked({"HDEL", RoutesKey(tenant, user_id), std::to_string(session_id)}, true);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    return Unavailable("HDEL failed: " + std::string((*reply)->str, (*reply)->len));
  }
  return Status::Ok();
}

Status RedisRouteTable::Lookup(const std::string& tenant, const std::string& user_id,
                               std::vector<DeviceRoute>& out) {
  std::lock_guard lock(mu_);
  auto reply = CommandLocked({"HGETALL", RoutesKey(tenant, user_id)}, true);
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_ERROR) {
    return Unavailable("HGETALL failed: " + std::string(r->str, r->len));
  }
  if (r->type != REDIS_REPLY_ARRAY) return Internal("redis HGETALL: unexpected reply");
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    const redisReply* field = r->element[i];
    const redisReply* value = r->element[i + 1];
    if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) continue;
    auto sid = ParseSessionId(field->str, field->len);
    std::string_view in(value->str, value->len);
    DeviceRoute route;
    if (!sid || !TakeField(in, route.platform) || !TakeField(in, route.gateway_id) ||
        !TakeField(in, route.device)) {
      return Internal("redis key " + RoutesKey(tenant, user_id) + ": malformed route");
    }
    route.session_id = *sid;
    out.push_back(std::move(route));
  }
  return Status::Ok();
}

}  // namespace flare
