// What every store adapter derives from a message the same way: the
// mentions column, whether it counts as unread, and parsing a stored body.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare::stored {

// ",alice,bob," for mentions of users, "*" for @all, "" for none.
inline std::string MentionColumn(const ::flare::client::v1::Message& m) {
  std::string out;
  for (const auto& mention : m.mentions()) {
    if (mention.all()) return "*";
    out += (out.empty() ? "," : "") + mention.user_id() + ",";
  }
  return out;
}

// Events are never unread.
inline bool Countable(const ::flare::client::v1::Message& m) {
  return m.type() != ::flare::client::v1::MESSAGE_TYPE_EVENT;
}

// The text a search finds the message by: its content's text, for messages
// people wrote (not events or notifications) that are not recalled. Empty:
// the message is not searchable.
inline std::string SearchText(const ::flare::client::v1::Message& m) {
  namespace pb = ::flare::client::v1;
  if (m.type() == pb::MESSAGE_TYPE_EVENT || m.type() == pb::MESSAGE_TYPE_NOTIFICATION) return {};
  if (m.status() == pb::MESSAGE_STATUS_RECALLED) return {};
  std::string text = m.content().text();
  // PostgreSQL's text cannot hold NUL; it separates words anyway.
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

// The seq a delete-for-me event hides from its sender (who is the only
// user it is visible to); 0 for every other message.
inline int64_t HiddenSeq(const ::flare::client::v1::Message& m) {
  if (m.type() != ::flare::client::v1::MESSAGE_TYPE_EVENT || !m.event().has_delete_for_me()) {
    return 0;
  }
  return m.event().target_seq();
}

inline Result<::flare::client::v1::Message> ParseBody(std::string_view body) {
  ::flare::client::v1::Message m;
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Internal("stored message body does not parse");
  }
  return m;
}

}  // namespace flare::stored
