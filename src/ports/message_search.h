// Port: full-text search over message text, as one user may see it. The
// message store adapters implement it: they own the schema, and keep the
// index in the same transaction as the message write, so a stored message
// is searchable as soon as it is acknowledged.
//
// What a search finds (every adapter, checked by
// tests/message_search_contract.h):
//  * only messages of conversations `user_id` is a member of, from the
//    member's joined_seq on;
//  * only messages that have text (content.text): never events (recall,
//    edit, reaction, delete-for-me, membership) nor notifications;
//  * not recalled messages; edited ones by their current text;
//  * not the messages the user deleted for themself (a delete-for-me event
//    of that user targets them);
//  * messages whose text has every query word as the start of one of its
//    words, compared without ASCII case (word search, not substring).
// Newest first: by (server_time_ms, conversation_id, seq), descending.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

// A hit's place in the newest-first order; a page continues after it.
struct SearchPosition {
  int64_t server_time_ms = 0;
  std::string conversation_id;
  int64_t seq = 0;
};

struct SearchQuery {
  std::string tenant;
  std::string user_id;
  // The words to find, as SearchWords() makes them from the user's text:
  // lowercase ASCII letters and digits and bytes >= 0x80, never empty.
  // Adapters quote them for their own query syntax. No words: no hits.
  std::vector<std::string> words;
  std::string conversation_id;          // empty: every conversation of the user
  int limit = 20;                       // hits per page, > 0
  std::optional<SearchPosition> after;  // the last hit of the previous page
};

struct SearchPage {
  std::vector<::flare::client::v1::Message> hits;  // newest first
  bool more = false;                               // more hits exist after the last one
};

class MessageSearch {
 public:
  virtual ~MessageSearch() = default;
  virtual Result<SearchPage> Search(const SearchQuery& query) = 0;
};

// The words of a search text: runs of ASCII letters and digits and of
// non-ASCII bytes (UTF-8 sequences are kept whole), ASCII lowercased. Every
// other ASCII character separates words, so a query's quotes, `*`, `-`,
// `:` or parentheses are never operators of an adapter's query language.
inline std::vector<std::string> SearchWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool ascii_word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (ascii_word || c >= 0x80) {
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

inline SearchPosition PositionOf(const ::flare::client::v1::Message& m) {
  return {m.server_time_ms(), m.conversation_id(), m.seq()};
}

// True when `a` comes before `b` in the newest-first order.
inline bool NewerThan(const SearchPosition& a, const SearchPosition& b) {
  if (a.server_time_ms != b.server_time_ms) return a.server_time_ms > b.server_time_ms;
  if (a.conversation_id != b.conversation_id) return a.conversation_id > b.conversation_id;
  return a.seq > b.seq;
}

}  // namespace flare
