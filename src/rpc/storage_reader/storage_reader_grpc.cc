#include "rpc/storage_reader/storage_reader_grpc.h"

#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"
#include "storage/v1/storage_reader.grpc.pb.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::storage::v1::StorageReaderService;

HistoryQuery FromProto(const ::storage::v1::HistoryRequest& r) {
  return HistoryQuery{r.conversation_id(), r.peer_user_id(), r.before_seq(), r.limit()};
}

::storage::v1::HistoryRequest ToProto(const HistoryQuery& q) {
  ::storage::v1::HistoryRequest r;
  r.set_conversation_id(q.conversation_id);
  r.set_peer_user_id(q.peer_user_id);
  r.set_before_seq(q.before_seq);
  r.set_limit(q.limit);
  return r;
}

GetMessagesQuery FromProto(const ::storage::v1::GetMessagesRequest& r) {
  return GetMessagesQuery{
      r.conversation_id(), r.peer_user_id(), {r.seqs().begin(), r.seqs().end()}};
}

::storage::v1::GetMessagesRequest ToProto(const GetMessagesQuery& q) {
  ::storage::v1::GetMessagesRequest r;
  r.set_conversation_id(q.conversation_id);
  r.set_peer_user_id(q.peer_user_id);
  r.mutable_seqs()->Add(q.seqs.begin(), q.seqs.end());
  return r;
}

class StorageReaderGrpcService final : public StorageReaderService::Service {
 public:
  explicit StorageReaderGrpcService(StorageReader& reader) : reader_(reader) {}

  grpc::Status Sync(grpc::ServerContext* context, const pb::SyncRequest* request,
                    pb::SyncResult* response) override {
    return rpc::ServeRead(*context, "storage.v1.StorageReaderService/Sync", response,
                          [&](const Principal& who) { return reader_.Sync(who, *request); });
  }

  grpc::Status History(grpc::ServerContext* context, const ::storage::v1::HistoryRequest* request,
                       pb::SyncResult* response) override {
    return rpc::ServeRead(
        *context, "storage.v1.StorageReaderService/History", response,
        [&](const Principal& who) { return reader_.History(who, FromProto(*request)); });
  }

  grpc::Status GetMessages(grpc::ServerContext* context,
                           const ::storage::v1::GetMessagesRequest* request,
                           pb::SyncResult* response) override {
    return rpc::ServeRead(
        *context, "storage.v1.StorageReaderService/GetMessages", response,
        [&](const Principal& who) { return reader_.GetMessages(who, FromProto(*request)); });
  }

  grpc::Status Search(grpc::ServerContext* context, const pb::SearchRequest* request,
                      pb::SearchResult* response) override {
    return rpc::ServeRead(*context, "storage.v1.StorageReaderService/Search", response,
                          [&](const Principal& who) { return reader_.Search(who, *request); });
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
    return caller_.Read<pb::SyncResult>(
        "Sync", who, [&](grpc::ClientContext& context, pb::SyncResult* response) {
          return stub_->Sync(&context, request, response);
        });
  }

  Result<pb::SyncResult> History(const Principal& who, const HistoryQuery& query) override {
    auto request = ToProto(query);
    return caller_.Read<pb::SyncResult>(
        "History", who, [&](grpc::ClientContext& context, pb::SyncResult* response) {
          return stub_->History(&context, request, response);
        });
  }

  Result<pb::SyncResult> GetMessages(const Principal& who, const GetMessagesQuery& query) override {
    auto request = ToProto(query);
    return caller_.Read<pb::SyncResult>(
        "GetMessages", who, [&](grpc::ClientContext& context, pb::SyncResult* response) {
          return stub_->GetMessages(&context, request, response);
        });
  }

  Result<pb::SearchResult> Search(const Principal& who, const pb::SearchRequest& request) override {
    return caller_.Read<pb::SearchResult>(
        "Search", who, [&](grpc::ClientContext& context, pb::SearchResult* response) {
          return stub_->Search(&context, request, response);
        });
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
