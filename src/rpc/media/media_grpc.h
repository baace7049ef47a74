// media.v1.MediaService: the media service (services/media/) over gRPC, for
// the media role. The caller's identity (tenant, user) comes from the
// call metadata (rpc/common/server_call.h); bytes travel in chunks of at
// most kMediaChunkBytes. No gRPC in this header.
#pragma once

#include <cstddef>

#include "rpc/common/rpc_server.h"
#include "services/media/media_service.h"

namespace flare {

inline constexpr size_t kMediaChunkBytes = 1 << 20;

// Serves `media` (must outlive the service).
RpcServicePtr NewMediaGrpcService(MediaService& media);

}  // namespace flare
