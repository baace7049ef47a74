// One configured hook: a `[[hooks]]` table of the TOML file. Declared here
// (not in services/hooks/) because Config holds the list; the hook engine
// (services/hooks/hook_engine.h) is what gives it meaning.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct HookConfig {
  std::string name;    // unique; the label of the hook's metrics
  std::string point;   // KnownHookPoints(): pre_send, post_send, pre_message_op, ...
  std::string url;     // http(s):// webhook receiver, or grpc://host:port (HookExtensionService)
  std::string secret;  // HMAC-SHA256 key of X-Flare-Signature
  // Selectors; empty matches everything. Conversation types: "single",
  // "group", ... ; message types: "text", "image", ... (the protocol's enum
  // names in lower case without their prefix).
  std::vector<std::string> tenants;
  std::vector<std::string> conversation_types;
  std::vector<std::string> message_types;
  int64_t priority = 100;  // pre-* hooks run lowest value first
  int64_t timeout_ms = 1'000;
  std::string failure_policy = "fail_open";  // fail_open | fail_closed
  int64_t max_concurrency = 64;              // calls in flight to this hook
  // post-* hooks only: deliveries are retried with exponential backoff
  // (backoff_ms, 2 x backoff_ms, ...) and dead-lettered after max_attempts.
  int64_t max_attempts = 5;
  int64_t backoff_ms = 500;

  bool fail_closed() const { return failure_policy == "fail_closed"; }
  bool is_pre() const { return point.rfind("pre_", 0) == 0; }
};

// The hook points a hook may name (what the engine can call today).
const std::vector<std::string>& KnownHookPoints();

// Whether `url` names a gRPC hook (grpc://).
bool IsGrpcHookUrl(const std::string& url);
// "grpc://host:port" (a trailing '/' allowed) -> "host:port"; InvalidArgument otherwise.
Result<std::string> GrpcHookAddress(const std::string& url);

// Checks one hook (names the hook and the key in the error).
Status ValidateHook(const HookConfig& hook);
// Checks every hook and that names are unique.
Status ValidateHooks(const std::vector<HookConfig>& hooks);

}  // namespace flare
