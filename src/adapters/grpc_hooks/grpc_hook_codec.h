// HookRequest/HookResponse (ports/hook_transport.h) <-> the messages of
// hooks.v1.HookExtensionService, and the signature a gRPC hook call
// carries in metadata (the webhook's HMAC, over the request's
// deterministic serialization instead of a JSON body). Shared by the
// transport and by receivers (tests, business servers written in C++).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "hooks/v1/hooks.pb.h"
#include "ports/hook_transport.h"

namespace flare {

inline constexpr const char* kGrpcHookTimestampKey = "x-flare-timestamp";
inline constexpr const char* kGrpcHookSignatureKey = "x-flare-signature";

::hooks::v1::HookRequest ToProto(const HookRequest& request);
// Fails on an action this version does not know.
Result<HookResponse> FromProto(const ::hooks::v1::HookResponse& response);

// The bytes that are signed: the request serialized deterministically.
std::string SignedBytes(const ::hooks::v1::HookRequest& request);

// The x-flare-signature value of `request` sent at `timestamp` (Unix seconds).
std::string GrpcHookSignature(const std::string& secret, const std::string& timestamp,
                              const ::hooks::v1::HookRequest& request);

// What a receiver runs: as VerifyWebhookSignature (constant-time
// comparison, then the replay window), over SignedBytes(request).
Status VerifyGrpcHookSignature(const std::string& secret, const std::string& timestamp,
                               const std::string& signature,
                               const ::hooks::v1::HookRequest& request, int64_t now_s,
                               int64_t window_s = 300);

}  // namespace flare
