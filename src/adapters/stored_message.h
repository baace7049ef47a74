// What every store adapter derives from a message the same way: the
// mentions column, whether it counts as unread, and parsing a stored body.
#pragma once

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

inline Result<::flare::client::v1::Message> ParseBody(std::string_view body) {
  ::flare::client::v1::Message m;
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Internal("stored message body does not parse");
  }
  return m;
}

}  // namespace flare::stored
