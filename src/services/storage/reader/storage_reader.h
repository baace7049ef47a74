// storage-reader: history for a device that was away or scrolls back. Pages
// through a conversation after a seq (sync) or before one (history),
// fetches messages by seq, checking membership first, and searches message
// text (storage_reader_search.cc).
//
// Callers depend on the StorageReader interface: in one process it is the
// LocalStorageReader below, in a cluster a gRPC client of the
// storage-reader role (rpc/storage_reader/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flare/client/v1/client.pb.h"
#include "ports/message_search.h"
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

// One page of a conversation before `before_seq` (0: from the newest).
struct HistoryQuery {
  std::string conversation_id;  // or peer_user_id for a 1:1 conversation
  std::string peer_user_id;
  int64_t before_seq = 0;
  int limit = 0;  // 0: SyncLimits::default_limit; capped at max_limit
};

// Messages of one conversation by seq.
struct GetMessagesQuery {
  static constexpr size_t kMaxSeqs = 100;
  std::string conversation_id;  // or peer_user_id for a 1:1 conversation
  std::string peer_user_id;
  std::vector<int64_t> seqs;  // at most kMaxSeqs
};

// Bounds of a search request.
struct SearchLimits {
  static constexpr int kDefaultLimit = 20;
  static constexpr int kMaxLimit = 100;
  static constexpr size_t kMaxTextBytes = 256;
};

class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // One page of `request`'s conversation after its seq, as `who` may see it.
  virtual Result<::flare::client::v1::SyncResult> Sync(
      const Principal& who, const ::flare::client::v1::SyncRequest& request) = 0;
  // One page before `query.before_seq`, newest first; has_more: older
  // messages `who` may see exist.
  virtual Result<::flare::client::v1::SyncResult> History(const Principal& who,
                                                          const HistoryQuery& query) = 0;
  // The asked messages `who` may see, in seq order: seqs not stored, before
  // the join point or not durable yet are left out. has_more: the page was
  // cut by size after its last message.
  virtual Result<::flare::client::v1::SyncResult> GetMessages(const Principal& who,
                                                              const GetMessagesQuery& query) = 0;
  // One page of the messages `who` may read whose text has every word of
  // request.text (as word prefixes), newest first; see ports/message_search.h
  // for what is found. `who` is trusted (authenticated by the caller).
  // InvalidArgument: empty or too long text, negative limit, a page token
  // this server did not issue; a conversation `who` is not a member of is
  // refused as by Sync.
  virtual Result<::flare::client::v1::SearchResult> Search(
      const Principal& who, const ::flare::client::v1::SearchRequest& request) = 0;
};

// Reads the MessageStore of this process.
class LocalStorageReader final : public StorageReader {
 public:
  // `fence` (may be null): serve only what is durable. `search` (may be
  // null: Search fails): the store's search, usually the store itself.
  LocalStorageReader(MessageStore& store, ConversationAccess& access, SyncLimits limits,
                     const DurableFence* fence = nullptr, MessageSearch* search = nullptr)
      : store_(store), access_(access), limits_(limits), fence_(fence), search_(search) {}

  Result<::flare::client::v1::SyncResult> Sync(
      const Principal& who, const ::flare::client::v1::SyncRequest& request) override;
  Result<::flare::client::v1::SyncResult> History(const Principal& who,
                                                  const HistoryQuery& query) override;
  Result<::flare::client::v1::SyncResult> GetMessages(const Principal& who,
                                                      const GetMessagesQuery& query) override;
  Result<::flare::client::v1::SearchResult> Search(
      const Principal& who, const ::flare::client::v1::SearchRequest& request) override;

 private:
  int PageLimit(int asked) const;
  // The page's header once its messages are read: max seq and the fence
  // are asked after the reads (a row they saw was held before it was
  // committed). Drops the messages the fence holds back.
  Result<::flare::client::v1::SyncResult> StartPage(const Principal& who,
                                                    const ResolvedConversation& conv,
                                                    std::vector<Message>& messages);
  // Moves the first `n` of `messages` into `page` as `user` may see them,
  // up to max_page_bytes (always one). Returns false when the size cut it.
  bool Fill(std::vector<Message>& messages, size_t n, const std::string& user,
            ::flare::client::v1::SyncResult& page) const;

  MessageStore& store_;
  ConversationAccess& access_;
  SyncLimits limits_;
  const DurableFence* fence_;
  MessageSearch* search_;
};

}  // namespace flare
