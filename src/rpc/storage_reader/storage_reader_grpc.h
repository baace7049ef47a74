// storage-reader over gRPC (storage.v1.StorageReaderService): the server
// adapter that serves any StorageReader, and the client that is one. No
// gRPC in this header: wiring includes it.
#pragma once

#include <memory>

#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"
#include "services/storage/reader/storage_reader.h"

namespace flare {

// Serves `reader` (which must outlive the service) to other roles.
RpcServicePtr NewStorageReaderGrpcService(StorageReader& reader);

// A StorageReader that asks the storage-reader role behind `channel`.
std::unique_ptr<StorageReader> NewStorageReaderGrpcClient(std::shared_ptr<grpc::Channel> channel,
                                                          const RpcOptions& options,
                                                          RpcSeams seams = {});

}  // namespace flare
