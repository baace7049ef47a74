// Signing of webhook calls, shared by the sender (WebhookTransport) and
// receivers (business servers, tests): X-Flare-Timestamp is the Unix time
// in seconds; X-Flare-Signature is "sha256=" + lowercase hex of
// HMAC-SHA256(secret, timestamp + body), the timestamp's decimal digits
// followed directly by the body bytes.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace flare {

inline constexpr const char* kWebhookTimestampHeader = "X-Flare-Timestamp";
inline constexpr const char* kWebhookSignatureHeader = "X-Flare-Signature";

// The X-Flare-Signature value for `body` sent at `timestamp_s`.
std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body);

// Whether a received call is authentic and fresh: the signature matches
// (compared in constant time) and the timestamp is within `window_s` of
// `now_s` either way. A replay of a captured call fails once it is older
// than the window. PermissionDenied names what is wrong.
Status VerifyWebhookSignature(const std::string& secret, const std::string& timestamp,
                              const std::string& signature, const std::string& body, int64_t now_s,
                              int64_t window_s = 300);

}  // namespace flare
