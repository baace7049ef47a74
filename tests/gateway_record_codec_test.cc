// Gateway inbox records survive the trip through bytes: outcomes with
// everything the gateway answers from, deliveries whose sessions share
// items (written once), notices; bytes that are not a record are an error.
#include "services/signaling/inbox/gateway_record_codec.h"

#include <gtest/gtest.h>

#include <map>

#include "flare/pipeline/v1/pipeline.pb.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

std::shared_ptr<const PushItem> Item(const std::string& conv, int64_t seq,
                                     const std::string& text) {
  pb::ServerFrame frame;
  pb::Message* m = frame.mutable_push()->add_messages();
  m->set_conversation_id(conv);
  m->set_seq(seq);
  m->mutable_content()->set_text(text);
  return std::make_shared<const PushItem>(conv, seq, std::move(frame));
}

TEST(GatewayRecordCodec, ASendOutcomeKeepsItsAddressResultAndDuplicateFlag) {
  CommandOutcome outcome;
  outcome.kind = CommandKind::kSend;
  outcome.duplicate = true;
  Message stored;
  stored.set_conversation_id("c1");
  stored.set_seq(17);
  stored.set_client_msg_id("k1");
  stored.set_server_msg_id("s1");
  outcome.stored = &stored;  // as the writer hands it: pointing into the batch
  auto decoded = DecodeInboxRecord(EncodeInboxOutcome({"gw-b", 42, "req-7"}, outcome));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& got = std::get<InboxOutcome>(*decoded);
  EXPECT_EQ(got.session_id, 42u);
  EXPECT_EQ(got.request_id, "req-7");
  EXPECT_EQ(got.outcome.kind, CommandKind::kSend);
  EXPECT_TRUE(got.outcome.status.ok());
  EXPECT_TRUE(got.outcome.duplicate);
  EXPECT_EQ(got.outcome.stored, nullptr);
  EXPECT_EQ(got.outcome.result().seq(), 17);
  EXPECT_EQ(got.outcome.result().client_msg_id(), "k1");
  EXPECT_EQ(got.outcome.result().server_msg_id(), "s1");
}

TEST(GatewayRecordCodec, AGroupOutcomeCarriesTheGroupAndAFailureItsCodeAndDetail) {
  CommandOutcome group;
  group.kind = CommandKind::kGroup;
  group.group.set_conversation_id("g:1");
  group.group.add_members()->set_user_id("bob");
  group.message.set_seq(3);
  auto decoded = DecodeInboxRecord(EncodeInboxOutcome({"gw-b", 1, "r"}, group));
  ASSERT_TRUE(decoded.ok());
  const auto& got = std::get<InboxOutcome>(*decoded).outcome;
  EXPECT_EQ(got.kind, CommandKind::kGroup);
  EXPECT_EQ(got.group.conversation_id(), "g:1");
  ASSERT_EQ(got.group.members_size(), 1);
  EXPECT_EQ(got.result().seq(), 3);

  CommandOutcome refused;
  refused.kind = CommandKind::kMessageOp;
  refused.status = PermissionDenied("not yours").WithDetail(pb::ERROR_CODE_NOT_FOUND);
  decoded = DecodeInboxRecord(EncodeInboxOutcome({"gw-b", 1, "r"}, refused));
  ASSERT_TRUE(decoded.ok());
  const Status& status = std::get<InboxOutcome>(*decoded).outcome.status;
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_EQ(status.message(), "not yours");
  EXPECT_EQ(status.detail(), pb::ERROR_CODE_NOT_FOUND);
  EXPECT_EQ(std::get<InboxOutcome>(*decoded).outcome.kind, CommandKind::kMessageOp);
}

TEST(GatewayRecordCodec, ASendRejectedByAHookKeepsTheHooksCode) {
  CommandOutcome rejected;
  rejected.kind = CommandKind::kSend;
  rejected.status = PermissionDenied("no links").WithDetail(pb::ERROR_CODE_REJECTED_BY_HOOK);
  rejected.hook_code = 4031;
  auto decoded = DecodeInboxRecord(EncodeInboxOutcome({"gw-b", 9, "r"}, rejected));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& got = std::get<InboxOutcome>(*decoded).outcome;
  EXPECT_EQ(got.status.detail(), pb::ERROR_CODE_REJECTED_BY_HOOK);
  EXPECT_EQ(got.hook_code, 4031);
}

TEST(GatewayRecordCodec, ADeliveryWritesEachSharedItemOnceAndSessionsShareItAgain) {
  auto shared = Item("g:1", 5, "to everyone");
  auto own = Item("c:2", 9, "just you");
  std::vector<SessionPushes> pushes(3);
  pushes[0] = {11, {shared}};
  pushes[1] = {12, {shared, own}};
  pushes[2] = {13, {shared}};
  auto records = EncodeInboxDelivery(pushes, 1 << 20);
  ASSERT_EQ(records.size(), 1u);
  const std::string& bytes = records[0];
  ::flare::pipeline::v1::GatewayRecord raw;
  ASSERT_TRUE(raw.ParseFromString(bytes));
  EXPECT_EQ(raw.delivery().items_size(), 2) << "an item for three sessions is written once";

  auto decoded = DecodeInboxRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& got = std::get<InboxDelivery>(*decoded).pushes;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].session_id, 12u);
  ASSERT_EQ(got[1].items.size(), 2u);
  EXPECT_EQ(got[1].items[0], got[0].items[0]) << "sessions share one decoded item";
  EXPECT_EQ(got[1].items[1]->conversation_id, "c:2");
  EXPECT_EQ(got[1].items[1]->seq, 9);
  EXPECT_EQ(got[1].items[1]->frame.frame().push().messages(0).content().text(), "just you");
  // Binary connections get the bytes as they arrived; JSON ones an encoding.
  EXPECT_EQ(*got[1].items[1]->frame.Bytes(Encoding::kBinary), *own->frame.Bytes(Encoding::kBinary));
  EXPECT_EQ(*got[0].items[0]->frame.Bytes(Encoding::kJson), *shared->frame.Bytes(Encoding::kJson));
}

// A broker refuses records above its size limit (Kafka: 1 MB by default),
// which would lose every push in them: a batch's pushes for one gateway are
// cut into records under the limit, between items, keeping each session's
// items in order.
TEST(GatewayRecordCodec, ADeliveryIsCutIntoRecordsUnderTheLimitKeepingOrder) {
  std::vector<SessionPushes> pushes(2);
  for (int seq = 1; seq <= 40; ++seq) {
    auto item = Item("c:" + std::to_string(seq % 2), seq, std::string(10'000, 'x'));
    pushes[seq % 2].session_id = 100 + seq % 2;
    pushes[seq % 2].items.push_back(item);
  }
  constexpr size_t kLimit = 64 * 1024;
  auto records = EncodeInboxDelivery(pushes, kLimit);
  ASSERT_GE(records.size(), 6u);  // 400 kB of frames
  std::map<uint64_t, std::vector<int64_t>> seqs;
  for (const auto& record : records) {
    EXPECT_LE(record.size(), kLimit);
    auto decoded = DecodeInboxRecord(record);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    for (const auto& session : std::get<InboxDelivery>(*decoded).pushes) {
      for (const auto& item : session.items) seqs[session.session_id].push_back(item->seq);
    }
  }
  std::vector<int64_t> odd, even;
  for (int seq = 1; seq <= 40; ++seq) (seq % 2 ? odd : even).push_back(seq);
  EXPECT_EQ(seqs[101], odd);
  EXPECT_EQ(seqs[100], even);
}

TEST(GatewayRecordCodec, ANoticeKeepsItsSessionsAndFrame) {
  pb::ServerFrame frame;
  frame.mutable_read_notice()->set_conversation_id("c1");
  frame.mutable_read_notice()->set_seq(4);
  SharedFrame shared(frame);
  auto decoded = DecodeInboxRecord(EncodeInboxNotice({3, 5, 8}, shared));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& got = std::get<InboxNotice>(*decoded);
  EXPECT_EQ(got.session_ids, (std::vector<uint64_t>{3, 5, 8}));
  EXPECT_EQ(got.frame->frame().read_notice().seq(), 4);
}

TEST(GatewayRecordCodec, AKickKeepsItsSessionAndReason) {
  auto decoded = DecodeInboxRecord(EncodeInboxKick(18'446'744'073'709'551'615u, "elsewhere"));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_TRUE(std::holds_alternative<InboxKick>(*decoded));
  const auto& got = std::get<InboxKick>(*decoded);
  EXPECT_EQ(got.session_id, 18'446'744'073'709'551'615u);
  EXPECT_EQ(got.reason, "elsewhere");
}

TEST(GatewayRecordCodec, GarbageAndBrokenRecordsAreInvalidArguments) {
  for (std::string bytes : {std::string("\xff\xff\xff\xff garbage", 13), std::string()}) {
    auto decoded = DecodeInboxRecord(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kInvalidArgument);
  }
  ::flare::pipeline::v1::GatewayRecord bad_index;
  bad_index.mutable_delivery()->add_sessions()->add_items(3);  // no item 3
  EXPECT_EQ(DecodeInboxRecord(bad_index.SerializeAsString()).status().code(),
            Code::kInvalidArgument);
  ::flare::pipeline::v1::GatewayRecord bad_frame;
  bad_frame.mutable_notice()->set_frame("\xff\xff\xff");
  EXPECT_EQ(DecodeInboxRecord(bad_frame.SerializeAsString()).status().code(),
            Code::kInvalidArgument);
  ::flare::pipeline::v1::GatewayRecord bad_code;
  bad_code.mutable_outcome()->set_status_code(999);
  EXPECT_EQ(DecodeInboxRecord(bad_code.SerializeAsString()).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace flare
