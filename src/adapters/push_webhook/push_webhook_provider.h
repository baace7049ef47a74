// PushProvider "webhook": a JSON POST of the notification to a business
// server, signed like hook calls (adapters/webhook/webhook_signature.h:
// X-Flare-Timestamp, X-Flare-Signature = sha256=HMAC(secret, timestamp +
// body)). 2xx delivered; 410 token invalid; 429, 5xx and network errors
// retriable (Retry-After honoured); other answers rejected.
#pragma once

#include <memory>
#include <string>

#include "adapters/http/curl_loop.h"
#include "common/push_config.h"
#include "ports/push_provider.h"

namespace flare {

struct PushWebhookOptions {
  std::string url;
  std::string secret;
  std::string ca_file;
};

Result<PushWebhookOptions> PushWebhookOptionsFromSettings(const std::string& where,
                                                          const PushProviderSettings& settings);

std::unique_ptr<PushProvider> MakePushWebhookProvider(PushWebhookOptions options,
                                                      std::shared_ptr<CurlLoop> loop);

// {"task_id","tenant","user_id","device_id","platform","token","title",
//  "body","badge"?,"collapse_id","data":{...}}
std::string PushWebhookBody(const PushNotification& notification);

}  // namespace flare
