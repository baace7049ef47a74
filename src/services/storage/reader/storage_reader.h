// storage-reader: history for a device that was away. Pages through a
// conversation after a seq, checking membership first.
//
// Callers depend on the StorageReader interface: in one process it is the
// LocalStorageReader below, in a cluster a gRPC client of the
// storage-reader role (rpc/storage_reader/).
#pragma once

#include <cstddef>

#include "flare/client/v1/client.pb.h"
#include "ports/message_store.h"
#include "services/conversation_access.h"
#include "services/storage/durable_fence.h"

namespace flare {

struct SyncLimits {
  int default_limit = 100;
  int max_limit = 500;
  // A page ends before the message that would take it past this many bytes
  // (it always holds at least one message), so no reply outgrows what a
  // connection may queue.
  size_t max_page_bytes = 1024 * 1024;
};

class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // One page of `request`'s conversation after its seq, as `who` may see it.
  virtual Result<::flare::client::v1::SyncResult> Sync(
      const Principal& who, const ::flare::client::v1::SyncRequest& request) = 0;
};

// Reads the MessageStore of this process.
class LocalStorageReader final : public StorageReader {
 public:
  // `fence` (may be null): serve only what is durable.
  LocalStorageReader(MessageStore& store, ConversationAccess& access, SyncLimits limits,
                     const DurableFence* fence = nullptr)
      : store_(store), access_(access), limits_(limits), fence_(fence) {}

  Result<::flare::client::v1::SyncResult> Sync(
      const Principal& who, const ::flare::client::v1::SyncRequest& request) override;

 private:
  MessageStore& store_;
  ConversationAccess& access_;
  SyncLimits limits_;
  const DurableFence* fence_;
};

}  // namespace flare
