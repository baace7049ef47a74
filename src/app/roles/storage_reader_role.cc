// storage-reader as a process: a LocalStorageReader over the shared store,
// served as storage.v1.StorageReaderService.
#include "app/roles/role.h"
#include "rpc/storage_reader/storage_reader_grpc.h"
#include "services/storage/reader/storage_reader.h"

namespace flare {
namespace {

class StorageReaderRole final : public Role {
 public:
  explicit StorageReaderRole(RoleDeps& deps)
      // No DurableFence: another process's writer commits before it
      // publishes, so whatever this process reads from the store is durable.
      : reader_(*deps.stores.messages, deps.access,
                {static_cast<int>(deps.config.sync_default_limit),
                 static_cast<int>(deps.config.sync_max_limit),
                 static_cast<size_t>(deps.config.sync_max_page_bytes)},
                nullptr, deps.stores.search.get()),
        service_(NewStorageReaderGrpcService(reader_)) {}

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "storage.v1.StorageReaderService"; }

 private:
  LocalStorageReader reader_;
  RpcServicePtr service_;
};

}  // namespace

std::unique_ptr<Role> MakeStorageReaderRole(RoleDeps& deps) {
  return std::make_unique<StorageReaderRole>(deps);
}

}  // namespace flare
