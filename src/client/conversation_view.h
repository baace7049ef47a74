// A device's view of one conversation: every message by seq with the
// events applied to the messages they target, and what this user deleted
// for themselves. Fed in seq order (FlareClient::OnMessage does that).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "flare/client/v1/client.pb.h"

namespace flare {

class ConversationView {
 public:
  explicit ConversationView(std::string me) : me_(std::move(me)) {}

  void Apply(const ::flare::client::v1::Message& m);

  const std::map<int64_t, ::flare::client::v1::Message>& messages() const { return messages_; }
  const std::set<int64_t>& hidden() const { return hidden_; }
  int64_t max_seq() const { return messages_.empty() ? 0 : messages_.rbegin()->first; }
  // Messages after `read_seq` that count as unread: not events, not this user's own.
  int64_t Unread(int64_t read_seq) const;
  // Equal content, ignoring the order of reactors within a reaction.
  bool SameAs(const ConversationView& other, std::string* difference) const;

 private:
  std::string me_;
  std::map<int64_t, ::flare::client::v1::Message> messages_;
  std::set<int64_t> hidden_;
};

}  // namespace flare
