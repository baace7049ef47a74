// Test data: a group's history as a store batch holds it.
#pragma once

#include <string>

#include "ports/message_store.h"

namespace flare::testing {

// Appends `count` text messages ("hi 1", "hi 2", ...) of `sender` to group
// `conv` of tenant "t", with seqs 1..count, server ids m1.. and client ids
// c1...
inline void AppendGroupTexts(WriteBatch& batch, const std::string& conv, int count,
                             const std::string& sender) {
  namespace pb = ::flare::client::v1;
  for (int seq = 1; seq <= count; ++seq) {
    StoredMessage sm;
    sm.tenant = "t";
    sm.message.set_conversation_id(conv);
    sm.message.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);
    sm.message.set_seq(seq);
    sm.message.set_server_msg_id("m" + std::to_string(seq));
    sm.message.set_client_msg_id("c" + std::to_string(seq));
    sm.message.set_sender(sender);
    sm.message.set_type(pb::MESSAGE_TYPE_TEXT);
    sm.message.mutable_content()->set_text("hi " + std::to_string(seq));
    batch.messages.push_back(std::move(sm));
  }
}

}  // namespace flare::testing
