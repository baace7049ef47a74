#include "adapters/redis/redis_gateway_directory.h"

#include <hiredis/hiredis.h>

namespace flare {

std::string RedisGatewayDirectory::Key(const std::string& gateway_id) {
  return "flare-gateway-addr:" + gateway_id;
}

Result<std::shared_ptr<RedisGatewayDirectory>> RedisGatewayDirectory::Open(
    const RedisGatewayDirectoryOptions& options) {
  auto url = ParseRedisUrl(options.url);
  if (!url.ok()) return url.status();
  IgnoreSigpipeOnce();
  std::shared_ptr<RedisGatewayDirectory> directory(
      new RedisGatewayDirectory(options, std::move(url).value()));
  std::lock_guard lock(directory->mu_);
  FLARE_RETURN_IF_ERROR(directory->conn_.Connect());
  return directory;
}

Status RedisGatewayDirectory::Announce(const std::string& gateway_id, const std::string& address,
                                       int64_t ttl_ms) {
  if (gateway_id.empty() || address.empty()) {
    return InvalidArgument("a gateway announcement needs an id and an address");
  }
  if (ttl_ms <= 0) return InvalidArgument("a gateway announcement needs a positive TTL");
  auto reply = Run({"SET", Key(gateway_id), address, "PX", std::to_string(ttl_ms)});
  if (!reply.ok()) return reply.status();
  if (IsError(reply->get())) {
    return conn_.Unavailable("SET failed: " + std::string(ReplyString(reply->get())));
  }
  return Status::Ok();
}

Result<std::string> RedisGatewayDirectory::Find(const std::string& gateway_id) {
  auto reply = Run({"GET", Key(gateway_id)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_NIL) {
    return NotFound("no live announcement of gateway " + gateway_id);
  }
  if (r->type != REDIS_REPLY_STRING) {
    return conn_.Unavailable("GET failed: " + std::string(ReplyString(r)));
  }
  return std::string(ReplyString(r));
}

Status RedisGatewayDirectory::Withdraw(const std::string& gateway_id) {
  auto reply = Run({"DEL", Key(gateway_id)});
  if (!reply.ok()) return reply.status();
  if (IsError(reply->get())) {
    return conn_.Unavailable("DEL failed: " + std::string(ReplyString(reply->get())));
  }
  return Status::Ok();
}

// Every command here may be repeated safely, so one that finds the
// connection broken is sent again on a new one.
Result<RedisReply> RedisGatewayDirectory::Run(const RedisCommand& command) {
  std::lock_guard lock(mu_);
  for (int attempt = 0;; ++attempt) {
    bool fresh = !conn_.connected();
    if (fresh) FLARE_RETURN_IF_ERROR(conn_.Connect());
    auto reply = conn_.Command(command);
    if (reply.ok() || fresh || attempt > 0) return reply;
  }
}

}  // namespace flare
