// Message <-> flare.storage.v1.MessageRecord: the one place where the
// client protocol's Message meets the stores' own stored format. Header
// only, so every store adapter can use it without another link target.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"
#include "flare/storage/v1/storage.pb.h"

namespace flare::storage_record {

// How a stored body is encoded (kept next to it, e.g. a `format` column).
enum class Format : int {
  kClientMessage = 0,  // written before flare.storage.v1: a serialized client Message
  kRecordV1 = 1,       // a serialized flare.storage.v1.MessageRecord
};

inline ::flare::storage::v1::MessageRecord ToRecord(const ::flare::client::v1::Message& m) {
  ::flare::storage::v1::MessageRecord r;
  r.set_server_msg_id(m.server_msg_id());
  r.set_client_msg_id(m.client_msg_id());
  r.set_conversation_id(m.conversation_id());
  r.set_conversation_type(m.conversation_type());
  r.set_sender(m.sender());
  r.set_sender_device(m.sender_device());
  r.set_seq(m.seq());
  r.set_type(m.type());
  r.set_status(m.status());
  r.set_client_time_ms(m.client_time_ms());
  r.set_server_time_ms(m.server_time_ms());
  r.set_version(m.version());
  r.set_visible_to(m.visible_to());
  if (m.has_content()) *r.mutable_content() = m.content();
  *r.mutable_attachments() = m.attachments();
  if (m.has_quote()) *r.mutable_quote() = m.quote();
  *r.mutable_attributes() = m.attributes();
  if (m.has_event()) *r.mutable_event() = m.event();
  *r.mutable_edit_history() = m.edit_history();
  *r.mutable_reactions() = m.reactions();
  *r.mutable_mentions() = m.mentions();
  return r;
}

inline ::flare::client::v1::Message FromRecord(const ::flare::storage::v1::MessageRecord& r) {
  namespace pb = ::flare::client::v1;
  pb::Message m;
  m.set_server_msg_id(r.server_msg_id());
  m.set_client_msg_id(r.client_msg_id());
  m.set_conversation_id(r.conversation_id());
  m.set_conversation_type(static_cast<pb::ConversationType>(r.conversation_type()));
  m.set_sender(r.sender());
  m.set_sender_device(r.sender_device());
  m.set_seq(r.seq());
  m.set_type(static_cast<pb::MessageType>(r.type()));
  m.set_status(static_cast<pb::MessageStatus>(r.status()));
  m.set_client_time_ms(r.client_time_ms());
  m.set_server_time_ms(r.server_time_ms());
  m.set_version(r.version());
  m.set_visible_to(r.visible_to());
  if (r.has_content()) *m.mutable_content() = r.content();
  *m.mutable_attachments() = r.attachments();
  if (r.has_quote()) *m.mutable_quote() = r.quote();
  *m.mutable_attributes() = r.attributes();
  if (r.has_event()) *m.mutable_event() = r.event();
  *m.mutable_edit_history() = r.edit_history();
  *m.mutable_reactions() = r.reactions();
  *m.mutable_mentions() = r.mentions();
  return m;
}

// The body to store for `m`, in the current format (kRecordV1).
inline void Encode(const ::flare::client::v1::Message& m, std::string* out) {
  ToRecord(m).SerializeToString(out);
}

// Reads a stored body in either format.
inline Result<::flare::client::v1::Message> Decode(Format format, std::string_view body) {
  if (format == Format::kClientMessage) {
    ::flare::client::v1::Message m;
    if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return Internal("stored message body (client format) does not parse");
    }
    return m;
  }
  if (format != Format::kRecordV1) {
    return Internal("stored message body has unknown format " +
                    std::to_string(static_cast<int>(format)));
  }
  ::flare::storage::v1::MessageRecord r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Internal("stored message record does not parse");
  }
  return FromRecord(r);
}

}  // namespace flare::storage_record
