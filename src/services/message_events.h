// Durable message events (recall, edit, reaction, delete for me): who may
// cause them, and what they do to the message they target. The server
// applies them when it stores the event; clients apply the same function to
// their local copy, so both arrive at the same state.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

namespace pb = ::flare::client::v1;

struct MessageOpRules {
  int64_t recall_window_ms = 120'000;
};

// Checks that `actor` may apply `op` to `target`. `is_moderator`: the
// actor is a group owner/admin.
Status CheckMessageOp(const pb::MessageOpRequest& op, const pb::Message& target,
                      const std::string& actor, bool is_moderator, int64_t now_ms,
                      const MessageOpRules& rules);

// Builds the event payload for `op` on `target`.
pb::Event MakeEvent(const pb::MessageOpRequest& op, const pb::Message& target);

// Applies an event message to the message it targets. Returns false when
// the event does not change its target (delete-for-me, membership).
bool ApplyEventToTarget(const pb::Message& event_message, pb::Message& target);

// What another user may see of a delete-for-me event of `event_message`.
pb::Message RedactFor(const pb::Message& event_message);

// True when a message may be shown to `user` unchanged.
inline bool VisibleTo(const pb::Message& m, const std::string& user) {
  return m.visible_to().empty() || m.visible_to() == user;
}

}  // namespace flare
