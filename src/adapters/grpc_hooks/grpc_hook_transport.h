// HookTransport over gRPC: calls hooks.v1.HookExtensionService/Call on
// the business server a hook's grpc://host:port URL names, with gRPC's
// callback API (Call never waits for the network), the hook's timeout as
// the call's deadline, and one channel per host:port, reused by every
// call to it. Plaintext (like the roles' gRPC): for a trusted network;
// each call is signed (grpc_hook_codec.h). Callbacks run on gRPC's
// threads: they must be short and must not call Close.
//
// MakeHookTransport is what servers use: grpc:// URLs go here, http(s)://
// to the webhook transport.
#pragma once

#include <memory>
#include "ports/hook_transport.h"

namespace flare {

struct GrpcHookOptions {
  size_t max_in_flight = 4096;  // calls running; more are refused at once
};

std::unique_ptr<HookTransport> MakeGrpcHookTransport(GrpcHookOptions options = {});

// Webhooks for http(s)://, gRPC for grpc://.
std::unique_ptr<HookTransport> MakeHookTransport();

}  // namespace flare
