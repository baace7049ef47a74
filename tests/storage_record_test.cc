// Message <-> flare.storage.v1.MessageRecord: every field survives the
// round trip, and bodies of both stored formats decode.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "adapters/storage_record.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

// A message with every field of the client Message set.
pb::Message Full() {
  pb::Message m;
  m.set_server_msg_id("s1");
  m.set_client_msg_id("c1");
  m.set_conversation_id("g:1");
  m.set_conversation_type(static_cast<pb::ConversationType>(2));
  m.set_sender("alice");
  m.set_sender_device("phone");
  m.set_seq(42);
  m.set_type(static_cast<pb::MessageType>(1));
  m.mutable_content()->set_text("hello");
  m.add_attachments();
  m.mutable_quote();
  (*m.mutable_attributes())["k"] = "v";
  m.set_status(static_cast<pb::MessageStatus>(1));
  m.set_client_time_ms(7);
  m.set_server_time_ms(8);
  m.mutable_event();
  m.set_version(3);
  m.add_edit_history()->set_version(2);
  m.add_reactions()->set_emoji("+1");
  m.add_mentions()->set_user_id("bob");
  m.set_visible_to("carol");
  return m;
}

TEST(StorageRecord, EveryFieldSurvivesTheRoundTrip) {
  const pb::Message m = Full();
  // Guards the test itself: a field added to Message must be set above.
  std::vector<const google::protobuf::FieldDescriptor*> set;
  m.GetReflection()->ListFields(m, &set);
  EXPECT_EQ(static_cast<int>(set.size()), pb::Message::descriptor()->field_count());
  pb::Message back = storage_record::FromRecord(storage_record::ToRecord(m));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(m, back)) << back.DebugString();
}

TEST(StorageRecord, DecodesBothFormats) {
  const pb::Message m = Full();
  std::string record;
  storage_record::Encode(m, &record);
  auto from_record = storage_record::Decode(storage_record::Format::kRecordV1, record);
  ASSERT_TRUE(from_record.ok());
  EXPECT_EQ(from_record->visible_to(), "carol");
  auto from_old =
      storage_record::Decode(storage_record::Format::kClientMessage, m.SerializeAsString());
  ASSERT_TRUE(from_old.ok());
  EXPECT_EQ(from_old->content().text(), "hello");
  EXPECT_FALSE(storage_record::Decode(static_cast<storage_record::Format>(9), record).ok());
  EXPECT_FALSE(storage_record::Decode(storage_record::Format::kRecordV1, "\xff\xff").ok());
}

}  // namespace
}  // namespace flare
