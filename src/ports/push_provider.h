// Port: a push provider (APNs, FCM, a generic webhook) that delivers one
// notification to one device token. Asynchronous like HookTransport: Send
// returns at once and `done` runs later, on a thread of the provider,
// exactly once (also when the provider is closed).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

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

}  // namespace flare
