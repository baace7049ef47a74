#include "adapters/redis/redis_presence_bus.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "adapters/redis/redis_route_scripts.h"

namespace flare {
namespace {

constexpr std::string_view kChannelPrefix = "flare:";
constexpr std::string_view kChannelSuffix = ":presence";
constexpr const char* kPattern = "flare:*:presence";

// Inverse of EncodeTenant; nullopt for text it cannot have produced.
std::optional<std::string> DecodeTenant(std::string_view encoded) {
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == ':') return std::nullopt;
    if (encoded[i] != '%') {
      out += encoded[i];
      continue;
    }
    std::string_view code = encoded.substr(i, 3);
    if (code == "%3A") {
      out += ':';
    } else if (code == "%25") {
      out += '%';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

}  // namespace

std::string RedisPresenceBus::Channel(const std::string& tenant) {
  return std::string(kChannelPrefix) + redis_routes::EncodeTenant(tenant) +
         std::string(kChannelSuffix);
}

Result<std::shared_ptr<RedisPresenceBus>> RedisPresenceBus::Open(
    const RedisPresenceBusOptions& options) {
  auto url = ParseRedisUrl(options.url);
  if (!url.ok()) return url.status();
  IgnoreSigpipeOnce();
  std::shared_ptr<RedisPresenceBus> bus(new RedisPresenceBus(options, *url));
  {
    std::lock_guard lock(bus->publish_mu_);
    FLARE_RETURN_IF_ERROR(bus->publisher_.Connect());
  }
  FLARE_RETURN_IF_ERROR(bus->Subscribe());
  bus->reader_ = std::thread([raw = bus.get()] { raw->ReadLoop(); });
  return bus;
}

RedisPresenceBus::RedisPresenceBus(const RedisPresenceBusOptions& options, const RedisUrl& url)
    : publisher_(url, options.connect_timeout, options.command_timeout),
      // No command timeout: the reader waits for notices as long as it takes.
      subscriber_(url, options.connect_timeout, std::chrono::milliseconds(0)) {}

RedisPresenceBus::~RedisPresenceBus() {
  stopping_ = true;  // before Interrupt: see ReadLoop
  subscriber_.Interrupt();
  stop_cv_.notify_all();
  if (reader_.joinable()) reader_.join();
}

Status RedisPresenceBus::Subscribe() {
  FLARE_RETURN_IF_ERROR(subscriber_.Connect());
  auto reply = subscriber_.Command({"PSUBSCRIBE", kPattern});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
      ReplyString(r->element[0]) != "psubscribe") {
    subscriber_.Close();
    return subscriber_.Unavailable("PSUBSCRIBE failed: " + std::string(ReplyString(r)));
  }
  return Status::Ok();
}

void RedisPresenceBus::ReadLoop() {
  auto backoff = std::chrono::milliseconds(50);
  while (!stopping_) {
    // stopping_ is checked after the connection (and its socket) exists and
    // set before Interrupt() looks for the socket, so no Read() outlives it.
    if (!subscriber_.connected()) {
      Status st = Subscribe();
      if (!st.ok()) {
        spdlog::warn("presence notices from other gateways paused: {}", st.message());
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_for(lock, backoff, [&] { return stopping_.load(); });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      backoff = std::chrono::milliseconds(50);
      continue;
    }
    auto reply = subscriber_.Read();
    if (!reply.ok()) continue;  // closed: reconnect above (or stop)
    const redisReply* r = reply->get();
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        ReplyString(r->element[0]) == "pmessage") {
      Dispatch(ReplyString(r->element[2]), ReplyString(r->element[3]));
    }
  }
}

void RedisPresenceBus::Dispatch(std::string_view channel, std::string_view message) {
  if (!channel.starts_with(kChannelPrefix) || !channel.ends_with(kChannelSuffix)) return;
  channel.remove_prefix(kChannelPrefix.size());
  channel.remove_suffix(kChannelSuffix.size());
  auto tenant = DecodeTenant(channel);
  std::string user;
  if (!tenant || !redis_routes::TakeField(message, user)) {
    spdlog::warn("malformed presence notice on {}", channel);
    return;
  }
  std::string payload(message);
  Notify(*tenant, user, payload);
}

Status RedisPresenceBus::Publish(const std::string& tenant, const std::string& user_id,
                                 const std::string& payload) {
  std::string message;
  redis_routes::AppendField(message, user_id);
  message += payload;
  RedisCommand command = {"PUBLISH", Channel(tenant), std::move(message)};
  std::lock_guard lock(publish_mu_);
  for (int attempt = 0;; ++attempt) {
    bool fresh = !publisher_.connected();
    if (fresh) FLARE_RETURN_IF_ERROR(publisher_.Connect());
    auto reply = publisher_.Command(command);
    if (reply.ok()) {
      if (IsError(reply->get())) {
        return publisher_.Unavailable("PUBLISH failed: " + std::string(ReplyString(reply->get())));
      }
      return Status::Ok();
    }
    if (fresh || attempt > 0) return reply.status();  // a duplicate notice is harmless
  }
}

}  // namespace flare
