// Port: a push provider (APNs, FCM, a generic webhook) that delivers one
// notification to one device token. Asynchronous like HookTransport: Send
// returns at once and `done` runs later, on a thread of the provider,
// exactly once (also when the provider is closed).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace flare {

struct PushNotification {
  std::string task_id;  // the same for every attempt of one notification
  std::string tenant;
  std::string user_id;
  std::string device_id;
  std::string platform;
  std::string token;
  std::string title;
  std::string body;
  std::optional<int64_t> badge;
  std::string collapse_id;  // one visible notification per id (a conversation)
  std::map<std::string, std::string> data;
};

struct PushSendResult {
  enum class Kind {
    kDelivered,
    kRetriable,     // 429, 5xx, network, timeout: try again later
    kTokenInvalid,  // APNs 410 / BadDeviceToken, FCM UNREGISTERED: disable the token
    kRejected,      // the request itself is bad (4xx): retrying will not help
  };
  Kind kind = Kind::kRetriable;
  int http_status = 0;
  std::string reason;  // the provider's reason, for logs and dead letters
  std::optional<std::chrono::milliseconds> retry_after;
};

using PushSendCallback = std::function<void(PushSendResult)>;

class PushProvider {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~PushProvider() = default;
  // Never blocks on the network.
  virtual void Send(const PushNotification& notification, Deadline deadline,
                    PushSendCallback done) = 0;
  // Fails what is in flight (each `done` runs) and refuses later sends.
  virtual void Close() = 0;
};

// The providers of a process, chosen by (tenant, platform): "ios" -> apns,
// "android" -> fcm, anything else -> webhook; a tenant with a table of its
// own for a provider gets an instance with its own endpoint and credentials.
class PushProviderDirectory {
 public:
  struct Choice {
    PushProvider* provider = nullptr;  // nullptr: none configured
    std::string name;                  // "apns" | "fcm" | "webhook": the metrics label
  };
  virtual ~PushProviderDirectory() = default;
  virtual Choice Find(const std::string& tenant, const std::string& platform) = 0;
  // Closes every provider (what is in flight fails).
  virtual void Close() = 0;
};

// The provider a platform maps to.
inline std::string PushProviderForPlatform(const std::string& platform) {
  if (platform == "ios") return "apns";
  if (platform == "android") return "fcm";
  return "webhook";
}

struct Config;
class Clock;
// Builds every provider `[push.providers]` / `[push.tenants]` configure,
// sharing one HTTP event loop; InvalidArgument naming the key for a missing
// or bad setting (an unreadable key file included). No provider configured
// is fine: every Find then answers none.
Result<std::unique_ptr<PushProviderDirectory>> OpenPushProviders(const Config& config,
                                                                 const Clock& clock);

}  // namespace flare
