// PushProvider for Firebase Cloud Messaging's HTTP v1 API: POSTs
// {"message":{...}} to {endpoint}/v1/projects/{project_id}/messages:send
// with an OAuth2 access token. The token comes from the service account's
// token_uri: an RS256 JWT assertion (iss = client_email, scope
// firebase.messaging, aud = token_uri, iat, exp = iat + 1 h) exchanged with
// grant_type jwt-bearer, then cached until a minute before expires_in, or
// until a send is answered 401. Sends arriving while a token is fetched
// wait for it (one fetch at a time).
#pragma once

#include <memory>
#include <string>

#include "adapters/http/curl_loop.h"
#include "common/clock.h"
#include "common/push_config.h"
#include "ports/push_provider.h"

namespace flare {

inline constexpr const char* kFcmScope = "https://www.googleapis.com/auth/firebase.messaging";

struct FcmOptions {
  std::string endpoint = "https://fcm.googleapis.com";
  // From the service account key JSON.
  std::string client_email;
  std::string private_key_pem;
  std::string token_uri;
  std::string project_id;
  std::string ca_file;  // empty: the system's CAs
};

// From a provider table (reads service_account_file); InvalidArgument
// naming `where` and what is missing.
Result<FcmOptions> FcmOptionsFromSettings(const std::string& where,
                                          const PushProviderSettings& settings);

Result<std::unique_ptr<PushProvider>> MakeFcmProvider(FcmOptions options,
                                                      std::shared_ptr<CurlLoop> loop,
                                                      const Clock& clock);

// 200 delivered; errorCode UNREGISTERED, or INVALID_ARGUMENT about the
// token, token invalid; 401, 429, 5xx and network errors retriable; other
// 4xx rejected.
PushSendResult ClassifyFcmResponse(const HttpResponse& response);

std::string FcmMessage(const PushNotification& notification);

}  // namespace flare
