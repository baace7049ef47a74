// Test support: a device's own view of its conversations, built from what
// its FlareClient hands it (pushes and syncs, in seq order), and the
// server's view of a conversation (a full sync from 0), so convergence
// tests can compare the two.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "client/conversation_view.h"
#include "client/flare_client.h"
#include "support/server_process.h"

namespace flare::testing {

struct DeviceViews {
  std::mutex mu;
  std::map<std::string, ConversationView> views;  // by conversation id

  // Feeds `client`'s messages into the views of `user`, notifying `waiter`.
  void Follow(FlareClient& client, const std::string& user, Waiter& waiter) {
    client.OnMessage([this, user, &waiter](const pb::Message& m) {
      {
        std::lock_guard lock(mu);
        views.try_emplace(m.conversation_id(), user).first->second.Apply(m);
      }
      waiter.Notify();
    });
  }
};

// The server's view of a conversation for `user`: a full sync from 0.
inline ConversationView ServerView(FlareClient& reader, const std::string& user,
                                   const std::string& conv) {
  ConversationView view(user);
  int64_t after = 0;
  for (;;) {
    auto page = reader.Sync(conv, after, 500);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok() || page->messages_size() == 0) break;
    for (const auto& m : page->messages()) view.Apply(m);
    if (!page->has_more()) break;
    after = page->messages(page->messages_size() - 1).seq();
  }
  return view;
}

}  // namespace flare::testing
