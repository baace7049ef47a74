#include "adapters/memory/memory_store.h"

#include <algorithm>
#include <set>

#include "adapters/stored_message.h"

namespace flare {

namespace {

// Every query word starts one of the text's words.
bool MatchesWords(const std::string& text, const std::vector<std::string>& words) {
  if (text.empty()) return false;
  std::vector<std::string> text_words = SearchWords(text);
  return std::all_of(words.begin(), words.end(), [&](const std::string& word) {
    return std::any_of(text_words.begin(), text_words.end(),
                       [&](const std::string& t) { return t.starts_with(word); });
  });
}

}  // namespace

Result<int64_t> MemoryStore::ClaimPartition(int32_t partition) {
  std::lock_guard lock(mu_);
  return ++partition_epochs_[partition];
}

Status MemoryStore::Write(const WriteBatch& batch) {
  std::lock_guard lock(mu_);
  // Check every constraint first so that a failing batch writes nothing.
  for (const auto& claim : batch.claims) {
    auto it = partition_epochs_.find(claim.partition);
    if (it == partition_epochs_.end() || it->second != claim.epoch) {
      return Aborted("partition " + std::to_string(claim.partition) +
                     " is owned by a newer writer");
    }
  }
  std::set<std::pair<ConvKey, int64_t>> new_seqs;
  std::set<IdemKey> new_ids;
  for (const auto& sm : batch.messages) {
    const Message& m = sm.message;
    ConvKey ck{sm.tenant, m.conversation_id()};
    auto it = messages_.find(ck);
    bool seq_taken = it != messages_.end() && it->second.count(m.seq()) > 0;
    IdemKey ik{sm.tenant, m.sender(), m.client_msg_id()};
    if (seq_taken || !new_seqs.insert({ck, m.seq()}).second) {
      return {Code::kAlreadyExists,
              "seq " + std::to_string(m.seq()) + " already stored in " + m.conversation_id()};
    }
    if (by_client_id_.count(ik) > 0 || !new_ids.insert(ik).second) {
      return {Code::kAlreadyExists, "client_msg_id " + m.client_msg_id() + " already stored"};
    }
  }
  for (const auto& c : batch.conversations) {
    conversations_[{c.tenant, c.conversation_id}] = c.info;
  }
  for (const auto& r : batch.memberships) {
    if (r.removed) {
      members_.erase({r.tenant, r.user_id, r.conversation_id});
      continue;
    }
    Member& m = members_[{r.tenant, r.user_id, r.conversation_id}];
    m.conversation_type = r.conversation_type;
    m.row.user_id = r.user_id;
    m.row.role = r.role;
    m.row.muted_until_ms = r.muted_until_ms;
    m.row.joined_seq = r.joined_seq;
  }
  for (const auto& sm : batch.messages) {
    const Message& m = sm.message;
    ConvKey ck{sm.tenant, m.conversation_id()};
    messages_[ck][m.seq()] = m;
    by_client_id_[{sm.tenant, m.sender(), m.client_msg_id()}] = {ck, m.seq()};
  }
  for (const auto& sm : batch.updates) {
    auto it = messages_.find({sm.tenant, sm.message.conversation_id()});
    if (it != messages_.end() && it->second.count(sm.message.seq())) {
      it->second[sm.message.seq()] = sm.message;
    }
  }
  for (const auto& c : batch.cursors) {
    auto it = members_.find({c.tenant, c.user_id, c.conversation_id});
    if (it == members_.end()) continue;
    it->second.delivered_seq = std::max(it->second.delivered_seq, c.delivered_seq);
    it->second.row.read_seq = std::max(it->second.row.read_seq, c.read_seq);
  }
  return Status::Ok();
}

Result<int64_t> MemoryStore::MaxSeq(const std::string& tenant, const std::string& conv) {
  std::lock_guard lock(mu_);
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end() || it->second.empty()) return int64_t{0};
  return it->second.rbegin()->first;
}

Result<std::optional<Message>> MemoryStore::FindByClientMsgId(const std::string& tenant,
                                                              const std::string& sender,
                                                              const std::string& client_msg_id) {
  std::lock_guard lock(mu_);
  auto it = by_client_id_.find({tenant, sender, client_msg_id});
  if (it == by_client_id_.end()) return std::optional<Message>();
  return std::optional<Message>(messages_[it->second.first][it->second.second]);
}

Result<std::vector<std::optional<Message>>> MemoryStore::FindByClientMsgIds(
    const std::vector<IdempotencyKeyRef>& keys) {
  std::vector<std::optional<Message>> out;
  out.reserve(keys.size());
  for (const auto& k : keys) {
    auto one = FindByClientMsgId(std::string(k.tenant), std::string(k.sender),
                                 std::string(k.client_msg_id));
    if (!one.ok()) return one.status();
    out.push_back(std::move(one).value());
  }
  return out;
}

Result<std::vector<Message>> MemoryStore::ReadAfter(const std::string& tenant,
                                                    const std::string& conv, int64_t after_seq,
                                                    int limit) {
  std::lock_guard lock(mu_);
  std::vector<Message> out;
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end()) return out;
  for (auto m = it->second.upper_bound(after_seq);
       m != it->second.end() && static_cast<int>(out.size()) < limit; ++m) {
    out.push_back(m->second);
  }
  return out;
}

Result<int64_t> MemoryStore::CountAfter(const std::string& tenant, const std::string& conv,
                                        int64_t after_seq, int64_t up_to_seq,
                                        const std::string& exclude_sender) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end()) return n;
  for (auto m = it->second.upper_bound(after_seq); m != it->second.end() && m->first <= up_to_seq;
       ++m) {
    if (m->second.sender() != exclude_sender &&
        m->second.type() != ::flare::client::v1::MESSAGE_TYPE_EVENT) {
      ++n;
    }
  }
  return n;
}

Result<std::optional<Message>> MemoryStore::Last(const std::string& tenant,
                                                 const std::string& conv) {
  std::lock_guard lock(mu_);
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end() || it->second.empty()) return std::optional<Message>();
  return std::optional<Message>(it->second.rbegin()->second);
}

Result<std::vector<std::string>> MemoryStore::Members(const std::string& tenant,
                                                      const std::string& conv) {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, member] : members_) {
    if (std::get<0>(key) == tenant && std::get<2>(key) == conv) out.push_back(std::get<1>(key));
  }
  return out;
}

Result<std::vector<MemberConversation>> MemoryStore::ListForUser(const std::string& tenant,
                                                                 const std::string& user_id) {
  std::lock_guard lock(mu_);
  std::vector<MemberConversation> out;
  for (auto it = members_.lower_bound({tenant, user_id, ""});
       it != members_.end() && std::get<0>(it->first) == tenant &&
       std::get<1>(it->first) == user_id;
       ++it) {
    const Member& m = it->second;
    auto info = conversations_.find({tenant, std::get<2>(it->first)});
    out.push_back({std::get<2>(it->first), m.conversation_type, m.row.read_seq, m.delivered_seq,
                   m.row.joined_seq, info == conversations_.end() ? "" : info->second});
  }
  return out;
}

Result<std::optional<MemberConversation>> MemoryStore::GetMemberConversation(
    const std::string& tenant, const std::string& conv, const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = members_.find({tenant, user_id, conv});
  if (it == members_.end()) return std::optional<MemberConversation>();
  const Member& m = it->second;
  auto info = conversations_.find({tenant, conv});
  return std::optional<MemberConversation>(
      MemberConversation{conv, m.conversation_type, m.row.read_seq, m.delivered_seq,
                         m.row.joined_seq, info == conversations_.end() ? "" : info->second});
}

Result<std::optional<MemberRow>> MemoryStore::GetMember(const std::string& tenant,
                                                        const std::string& conv,
                                                        const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = members_.find({tenant, user_id, conv});
  if (it == members_.end()) return std::optional<MemberRow>();
  return std::optional<MemberRow>(it->second.row);
}

Result<std::optional<ConversationSnapshot>> MemoryStore::LoadConversation(const std::string& tenant,
                                                                          const std::string& conv) {
  std::lock_guard lock(mu_);
  auto it = conversations_.find({tenant, conv});
  if (it == conversations_.end()) return std::optional<ConversationSnapshot>();
  ConversationSnapshot snap;
  snap.info = it->second;
  for (const auto& [key, member] : members_) {
    if (std::get<0>(key) == tenant && std::get<2>(key) == conv) snap.members.push_back(member.row);
  }
  return std::optional<ConversationSnapshot>(std::move(snap));
}

Result<int64_t> MemoryStore::CountReaders(const std::string& tenant, const std::string& conv,
                                          int64_t seq, const std::string& exclude_user) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const auto& [key, member] : members_) {
    if (std::get<0>(key) == tenant && std::get<2>(key) == conv &&
        std::get<1>(key) != exclude_user && member.row.read_seq >= seq) {
      ++n;
    }
  }
  return n;
}

Result<bool> MemoryStore::MentionedAfter(const std::string& tenant, const std::string& conv,
                                         int64_t after_seq, int64_t up_to_seq,
                                         const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end()) return false;
  for (auto m = it->second.upper_bound(after_seq); m != it->second.end() && m->first <= up_to_seq;
       ++m) {
    for (const auto& mention : m->second.mentions()) {
      if (mention.all() || mention.user_id() == user_id) return true;
    }
  }
  return false;
}

Result<std::optional<Message>> MemoryStore::Get(const std::string& tenant, const std::string& conv,
                                                int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = messages_.find({tenant, conv});
  if (it == messages_.end()) return std::optional<Message>();
  auto m = it->second.find(seq);
  if (m == it->second.end()) return std::optional<Message>();
  return std::optional<Message>(m->second);
}

Result<SearchPage> MemoryStore::Search(const SearchQuery& query) {
  std::lock_guard lock(mu_);
  SearchPage page;
  if (query.words.empty() || query.limit <= 0) return page;
  std::vector<const Message*> found;
  for (auto member = members_.lower_bound({query.tenant, query.user_id, ""});
       member != members_.end() && std::get<0>(member->first) == query.tenant &&
       std::get<1>(member->first) == query.user_id;
       ++member) {
    const std::string& conv = std::get<2>(member->first);
    if (!query.conversation_id.empty() && conv != query.conversation_id) continue;
    auto messages = messages_.find({query.tenant, conv});
    if (messages == messages_.end()) continue;
    std::set<int64_t> hidden;  // deleted for themself by this user
    for (const auto& [seq, m] : messages->second) {
      if (m.sender() == query.user_id && stored::HiddenSeq(m) > 0) {
        hidden.insert(stored::HiddenSeq(m));
      }
    }
    for (auto it = messages->second.lower_bound(member->second.row.joined_seq);
         it != messages->second.end(); ++it) {
      const Message& m = it->second;
      if (hidden.count(m.seq()) > 0) continue;
      if (query.after && !NewerThan(*query.after, PositionOf(m))) continue;
      if (!MatchesWords(stored::SearchText(m), query.words)) continue;
      found.push_back(&m);
    }
  }
  std::sort(found.begin(), found.end(), [](const Message* a, const Message* b) {
    return NewerThan(PositionOf(*a), PositionOf(*b));
  });
  page.more = found.size() > static_cast<size_t>(query.limit);
  if (page.more) found.resize(query.limit);
  for (const Message* m : found) page.hits.push_back(*m);
  return page;
}

}  // namespace flare
