// In-memory MessageStore + ConversationStore: the reference implementation
// of the storage ports, used by unit tests and by `storage.backend = "memory"`.
// Nothing survives the process.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "ports/conversation_store.h"
#include "ports/message_search.h"
#include "ports/message_store.h"

namespace flare {

class MemoryStore final : public MessageStore, public ConversationStore, public MessageSearch {
 public:
  Status Write(const WriteBatch& batch) override;
  Result<int64_t> ClaimPartition(int32_t partition) override;
  Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id) override;
  Result<std::optional<Message>> FindByClientMsgId(const std::string& tenant,
                                                   const std::string& sender,
                                                   const std::string& client_msg_id) override;
  Result<std::vector<std::optional<Message>>> FindByClientMsgIds(
      const std::vector<IdempotencyKeyRef>& keys) override;
  Result<std::vector<Message>> ReadAfter(const std::string& tenant,
                                         const std::string& conversation_id, int64_t after_seq,
                                         int limit) override;
  Result<int64_t> CountAfter(const std::string& tenant, const std::string& conversation_id,
                             int64_t after_seq, int64_t up_to_seq,
                             const std::string& exclude_sender) override;
  Result<std::optional<Message>> Last(const std::string& tenant,
                                      const std::string& conversation_id) override;
  Result<bool> MentionedAfter(const std::string& tenant, const std::string& conversation_id,
                              int64_t after_seq, int64_t up_to_seq,
                              const std::string& user_id) override;
  Result<std::optional<Message>> Get(const std::string& tenant, const std::string& conversation_id,
                                     int64_t seq) override;

  Result<std::vector<std::string>> Members(const std::string& tenant,
                                           const std::string& conversation_id) override;
  Result<std::vector<MemberConversation>> ListForUser(const std::string& tenant,
                                                      const std::string& user_id) override;
  Result<std::optional<MemberConversation>> GetMemberConversation(
      const std::string& tenant, const std::string& conversation_id,
      const std::string& user_id) override;
  Result<std::optional<MemberRow>> GetMember(const std::string& tenant,
                                             const std::string& conversation_id,
                                             const std::string& user_id) override;
  Result<std::optional<ConversationSnapshot>> LoadConversation(
      const std::string& tenant, const std::string& conversation_id) override;
  Result<int64_t> CountReaders(const std::string& tenant, const std::string& conversation_id,
                               int64_t seq, const std::string& exclude_user) override;

  // Scans the user's conversations (the reference for the other adapters).
  Result<SearchPage> Search(const SearchQuery& query) override;

 private:
  using ConvKey = std::pair<std::string, std::string>;                  // tenant, conversation
  using IdemKey = std::tuple<std::string, std::string, std::string>;    // tenant, sender, cmid
  using MemberKey = std::tuple<std::string, std::string, std::string>;  // tenant, user, conv

  std::mutex mu_;
  std::map<ConvKey, std::map<int64_t, Message>> messages_;
  std::map<IdemKey, std::pair<ConvKey, int64_t>> by_client_id_;
  struct Member {
    int conversation_type = 0;
    MemberRow row;
    int64_t delivered_seq = 0;
  };
  std::map<MemberKey, Member> members_;
  std::map<ConvKey, std::string> conversations_;
  std::map<int32_t, int64_t> partition_epochs_;
};

}  // namespace flare
