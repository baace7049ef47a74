// Test support: building requests and collecting server notices.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "client/flare_client.h"
#include "support/server_process.h"

namespace flare::testing {

// The raw reply to a text send (error frames included, without the client
// library's retries).
inline pb::ServerFrame SendTextFrame(FlareClient& client, const std::string& peer,
                                     const std::string& text) {
  pb::ClientFrame frame;
  frame.mutable_send()->set_peer_user_id(peer);
  frame.mutable_send()->set_client_msg_id(NewClientMsgId());
  frame.mutable_send()->mutable_content()->set_text(text);
  auto reply = client.Call(std::move(frame));
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  return reply.ok() ? *reply : pb::ServerFrame();
}

inline pb::GroupRequest CreateGroup(const std::vector<std::string>& members,
                                    pb::ConversationType type = pb::CONVERSATION_TYPE_GROUP,
                                    bool history_visible = false) {
  pb::GroupRequest r;
  r.mutable_create()->set_type(type);
  r.mutable_create()->mutable_settings()->set_name("team");
  r.mutable_create()->mutable_settings()->set_history_visible_to_new_members(history_visible);
  for (const auto& m : members) r.mutable_create()->add_member_ids(m);
  return r;
}

inline pb::GroupRequest Members(const std::string& conv, const std::vector<std::string>& users,
                                bool add) {
  pb::GroupRequest r;
  r.set_conversation_id(conv);
  auto* list = add ? r.mutable_add_members() : r.mutable_remove_members();
  for (const auto& u : users) list->add_user_ids(u);
  return r;
}

// A text to `peer` (1:1) with the idempotency key `key`.
inline pb::SendRequest TextTo(const std::string& peer, const std::string& key) {
  pb::SendRequest r;
  r.set_peer_user_id(peer);
  r.set_client_msg_id(key);
  r.mutable_content()->set_text("text " + key);
  return r;
}

inline pb::SendRequest ToConversation(const std::string& conv, const std::string& text) {
  pb::SendRequest r;
  r.set_conversation_id(conv);
  r.set_client_msg_id(NewClientMsgId());
  r.mutable_content()->set_text(text);
  return r;
}

inline pb::MessageOpRequest Op(const std::string& conv, int64_t target) {
  pb::MessageOpRequest r;
  r.set_conversation_id(conv);
  r.set_target_seq(target);
  return r;
}

// Server-initiated frames other than pushes, collected for assertions. The
// handler shares ownership of what it writes to, so a client that outlives
// its Notices never writes to freed memory.
class Notices {
 public:
  explicit Notices(FlareClient& client) : state_(std::make_shared<State>()) {
    client.OnFrame([state = state_](const pb::ServerFrame& f) {
      {
        std::lock_guard lock(state->waiter.mutex());
        state->frames.push_back(f);
      }
      state->waiter.Notify();
    });
  }
  // Waits for a frame matching `pred`; returns it (or a default frame).
  template <typename Pred>
  pb::ServerFrame WaitFor(Pred pred, int64_t timeout_ms = 10'000) {
    pb::ServerFrame found;
    bool ok = state_->waiter.WaitFor(
        [&] {
          for (const auto& f : state_->frames) {
            if (pred(f)) {
              found = f;
              return true;
            }
          }
          return false;
        },
        timeout_ms);
    EXPECT_TRUE(ok) << "no matching notice arrived";
    return found;
  }
  template <typename Pred>
  size_t Count(Pred pred) {
    std::lock_guard lock(state_->waiter.mutex());
    return static_cast<size_t>(std::count_if(state_->frames.begin(), state_->frames.end(), pred));
  }

 private:
  struct State {
    Waiter waiter;
    std::vector<pb::ServerFrame> frames;
  };
  std::shared_ptr<State> state_;
};

}  // namespace flare::testing
