// HookTransport over HTTP: POSTs the JSON of webhook_json.h, signed as
// webhook_signature.h says, with libcurl's multi interface on one thread
// (keep-alive connections are reused per host). Callbacks run on that
// thread: they must be short and must not call Close.
#pragma once

#include <memory>

#include "ports/hook_transport.h"

namespace flare {

struct WebhookOptions {
  size_t max_in_flight = 4096;  // calls queued or running; more are refused at once
  size_t max_response_bytes = 256 * 1024;
};

std::unique_ptr<HookTransport> MakeWebhookTransport(WebhookOptions options = {});

}  // namespace flare
