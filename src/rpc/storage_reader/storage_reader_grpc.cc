#include "rpc/storage_reader/storage_reader_grpc.h"

#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"
#include "storage/v1/storage_reader.grpc.pb.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::storage::v1::StorageReaderService;

class StorageReaderGrpcService final : public StorageReaderService::Service {
 public:
  explicit StorageReaderGrpcService(StorageReader& reader) : reader_(reader) {}

  grpc::Status Sync(grpc::ServerContext* context, const pb::SyncRequest* request,
                    pb::SyncResult* response) override {
    return rpc::ServeUnary(*context, "storage.v1.StorageReaderService/Sync",
                           [&](const Principal& who) {
                             auto result = reader_.Sync(who, *request);
                             if (!result.ok()) return result.status();
                             response->Swap(&*result);
                             return Status::Ok();
                           });
  }

 private:
  StorageReader& reader_;
};

class StorageReaderGrpcClient final : public StorageReader {
 public:
  StorageReaderGrpcClient(std::shared_ptr<grpc::Channel> channel, const RpcOptions& options,
                          RpcSeams seams)
      : stub_(StorageReaderService::NewStub(std::move(channel))),
        caller_("storage.v1.StorageReaderService", options, seams) {}

  Result<pb::SyncResult> Sync(const Principal& who, const pb::SyncRequest& request) override {
    pb::SyncResult response;
    Status status =
        caller_.Call("Sync", who, rpc::Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
          response.Clear();
          return stub_->Sync(&context, request, &response);
        });
    if (!status.ok()) return status;
    return response;
  }

 private:
  std::unique_ptr<StorageReaderService::Stub> stub_;
  rpc::RpcCaller caller_;
};

}  // namespace

RpcServicePtr NewStorageReaderGrpcService(StorageReader& reader) {
  return RpcServicePtr(new StorageReaderGrpcService(reader));
}

std::unique_ptr<StorageReader> NewStorageReaderGrpcClient(std::shared_ptr<grpc::Channel> channel,
                                                          const RpcOptions& options,
                                                          RpcSeams seams) {
  return std::make_unique<StorageReaderGrpcClient>(std::move(channel), options, seams);
}

}  // namespace flare
