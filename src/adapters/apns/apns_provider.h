// PushProvider for Apple Push Notification service: HTTP/2 POSTs to
// {endpoint}/3/device/{token} (TLS; h2c with prior knowledge for an http://
// endpoint, which only tests use), authenticated by an ES256 provider token
// (JWT: kid = key id, iss = team id, iat) signed with the team's .p8 key,
// reused for token_refresh_s (APNs refuses tokens older than an hour and
// refreshes more often than every 20 minutes) and signed again after a 403
// ExpiredProviderToken.
#pragma once

#include <memory>
#include <string>

#include "adapters/http/curl_loop.h"
#include "common/clock.h"
#include "common/push_config.h"
#include "ports/push_provider.h"

namespace flare {

struct ApnsOptions {
  std::string endpoint = "https://api.push.apple.com";
  std::string team_id;
  std::string key_id;
  std::string key_pem;  // the .p8 file's contents
  std::string topic;    // the app's bundle id
  std::string ca_file;  // empty: the system's CAs
  int priority = 10;    // apns-priority: 10 at once, 5 power-friendly
  int64_t token_refresh_s = 3'000;
};

// From a provider table (reads key_file); InvalidArgument naming `where`.
Result<ApnsOptions> ApnsOptionsFromSettings(const std::string& where,
                                            const PushProviderSettings& settings);

Result<std::unique_ptr<PushProvider>> MakeApnsProvider(ApnsOptions options,
                                                       std::shared_ptr<CurlLoop> loop,
                                                       const Clock& clock);

// How an APNs answer maps onto PushSendResult: 200 delivered; 410, or 400
// BadDeviceToken / DeviceTokenNotForTopic / Unregistered, token invalid;
// 429, 5xx, 403 ExpiredProviderToken and network errors retriable; other
// 4xx rejected.
PushSendResult ClassifyApnsResponse(const HttpResponse& response);

// The JSON body APNs gets: {"aps":{"alert":{title,body},badge},...data}.
std::string ApnsPayload(const PushNotification& notification);

}  // namespace flare
