// HookTransport: how the hook engine reaches a business server's hook (an
// HTTP webhook today, `hooks.v1.HookExtensionService` over gRPC later).
// Asynchronous: Call returns at once and `done` runs later, on a thread of
// the transport, exactly once (also when the transport is closed).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

using Message = ::flare::client::v1::Message;

// Where a hook lives and how its calls are signed.
struct HookTarget {
  std::string name;
  std::string url;
  std::string secret;
};

// What a hook is told. `point` is the configured point name ("pre_send",
// "post_message_op", ...; common/hook_config.h); `action` what happened at
// points with several ("recall", "member_joined", ...; empty for the send
// points). `message`: the message of a send; the event (MESSAGE_TYPE_EVENT
// with `event` set) of a message operation or conversation change; empty
// for post_online/post_offline, which name the user.
struct HookRequest {
  std::string point;
  std::string hook;      // the hook's name
  std::string event_id;  // the same for every attempt of one delivery
  std::string tenant;
  int attempt = 1;
  Message message;
  std::string action;
  std::string user_id;  // pre_login, post_online, post_offline: whose (no message)
  std::string device;   // pre_login: the device and platform logging in
  std::string platform;
};

// A hook's answer. Post-* hooks only acknowledge (any kAllow); a pre-*
// hook may reject the action, or rewrite the message's content or
// attributes (a kAllow with replacements).
struct HookResponse {
  enum class Verdict { kAllow, kReject };
  Verdict verdict = Verdict::kAllow;
  int32_t code = 0;    // kReject: the hook's own code, shown to the sender
  std::string reason;  // kReject: shown to the sender
  std::optional<::flare::client::v1::Content> content;           // replaces the content
  std::optional<std::map<std::string, std::string>> attributes;  // replaces all attributes
};

// The result of one call: `status` not OK when the hook could not be
// reached, answered an error or something unreadable; `timed_out` when the
// deadline passed first (status is then not OK either).
struct HookCallResult {
  Status status;
  bool timed_out = false;
  HookResponse response;
};

using HookCallback = std::function<void(HookCallResult)>;

class HookTransport {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~HookTransport() = default;
  // Never blocks on the network. A call refused at once (the transport is
  // full or closed) still reports through `done`.
  virtual void Call(const HookTarget& target, HookRequest request, Deadline deadline,
                    HookCallback done) = 0;
  // Fails what is in flight (each `done` runs) and refuses later calls.
  virtual void Close() = 0;
};

}  // namespace flare
