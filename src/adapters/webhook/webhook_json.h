// The JSON a webhook receives and answers (docs/architecture.md, "Hooks").
//
// Request: {"point": "pre_send", "hook": NAME, "event_id": ID, "tenant": T,
//           "attempt": N, "message": <flare.client.v1.Message as proto3 JSON,
//           snake_case field names>}
// Answer (HTTP 2xx; an empty body means allow):
//   {"action": "allow" | "reject", "code": INT, "reason": STRING,
//    "content": <flare.client.v1.Content as JSON>, "attributes": {K: V}}
// "content" and "attributes" (either may be left out) rewrite the message.
#pragma once

#include <string>

#include "ports/hook_transport.h"

namespace flare {

std::string EncodeHookRequest(const HookRequest& request);
Result<HookResponse> DecodeHookResponse(const std::string& body);

}  // namespace flare
