#include "services/storage/writer/command_codec.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

Command Base() {
  Command c;
  c.tenant = "t1";
  c.actor = "alice";
  c.actor_device = "phone";
  c.reply = {"gw-1", 42, "req-7"};
  return c;
}

TEST(CommandCodec, ASendTravelsWithItsReplyAddressAndMembers) {
  Command c = Base();
  SendCommand send;
  send.message.set_conversation_id(SingleConversationId("alice", "bob"));
  send.message.set_client_msg_id("k1");
  send.message.mutable_content()->set_text("hello");
  send.members = {"alice", "bob"};
  c.body = send;
  auto decoded = DecodeCommand(EncodeCommand(c));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->tenant, "t1");
  EXPECT_EQ(decoded->actor, "alice");
  EXPECT_EQ(decoded->actor_device, "phone");
  EXPECT_EQ(decoded->reply.gateway_id, "gw-1");
  EXPECT_EQ(decoded->reply.session_id, 42u);
  EXPECT_EQ(decoded->reply.request_id, "req-7");
  const auto& got = std::get<SendCommand>(decoded->body);
  EXPECT_EQ(got.message.content().text(), "hello");
  EXPECT_EQ(got.members, send.members);
  EXPECT_EQ(CommandStreamKey(*decoded), ConversationKey("t1", send.message.conversation_id()));
}

TEST(CommandCodec, GroupOpsAndCursorsKeepTheirConversation) {
  Command group = Base();
  pb::GroupRequest request;
  request.set_conversation_id("group:01");
  request.mutable_add_members()->add_user_ids("carol");
  group.body = GroupCommand{request};
  auto g = DecodeCommand(EncodeCommand(group));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(std::get<GroupCommand>(g->body).request.add_members().user_ids(0), "carol");
  EXPECT_EQ(CommandConversation(*g), "group:01");

  Command cursor = Base();
  cursor.body = CursorCommand{{"t1", "group:01", "alice", 3, 5}};
  auto c = DecodeCommand(EncodeCommand(cursor));
  ASSERT_TRUE(c.ok());
  const auto& moved = std::get<CursorCommand>(c->body).cursor;
  EXPECT_EQ(moved.tenant, "t1");
  EXPECT_EQ(moved.delivered_seq, 3);
  EXPECT_EQ(moved.read_seq, 5);
  EXPECT_EQ(CommandConversation(*c), "group:01");
}

TEST(CommandCodec, BytesThatAreNotACommandAreRefused) {
  EXPECT_EQ(DecodeCommand("\xff\xff\xff").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeCommand("").status().code(), Code::kInvalidArgument);  // no body
}

}  // namespace
}  // namespace flare
