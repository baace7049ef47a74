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

// What one message may accumulate through events. Without bounds a single
// user could grow one message (edits, reactions) past what a connection may
// queue, and every reader that syncs it would be closed.
struct MessageOpRules {
  int64_t recall_window_ms = 120'000;
  // Previous versions kept in edit_history; an edit drops the oldest ones.
  int max_edit_history = 10;
  // Distinct emoji on one message; a new one beyond this is refused.
  int max_reactions = 50;
  // Serialized size of one stored message with its history and reactions.
  // An edit first drops history to fit; an op that still does not fit is
  // refused (this also bounds the reactors of a message).
  size_t max_stored_bytes = 256 * 1024;
};

// Checks that `actor` may apply `op` to `target`. `is_moderator`: the
// actor is a group owner/admin.
Status CheckMessageOp(const pb::MessageOpRequest& op, const pb::Message& target,
                      const std::string& actor, bool is_moderator, int64_t now_ms,
                      const MessageOpRules& rules);

// Builds the event payload for `op` on `target`. An edit event carries how
// much edit history its target keeps, so every copy trims alike.
pb::Event MakeEvent(const pb::MessageOpRequest& op, const pb::Message& target,
                    const MessageOpRules& rules = {});

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
