// The storage writer's rules for repeated requests, cursors, and what it
// keeps in memory: every command kind is idempotent by its key, a key is
// never answered with another request's outcome, cursors stay within what
// is stored, caches and the ingest queue stay bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>

#include "adapters/memory/memory_store.h"
#include "common/ids.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

class Outcomes final : public CommandReplies {
 public:
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    const std::string& rid = to.request_id;
    std::lock_guard lock(mu_);
    CommandOutcome copy = outcome;
    copy.message = outcome.result();
    copy.stored = nullptr;
    outcomes_[rid] = std::move(copy);
    cv_.notify_all();
  }
  CommandOutcome Get(const std::string& rid) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes_.count(rid); }))
        << rid;
    return outcomes_[rid];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, CommandOutcome> outcomes_;
};

// Counts group loads, to see what the writer reads.
class CountingConversations final : public ConversationStore {
 public:
  explicit CountingConversations(ConversationStore& base) : base_(base) {}
  std::atomic<int> loads{0};
  Result<std::vector<std::string>> Members(const std::string& t, const std::string& c) override {
    return base_.Members(t, c);
  }
  Result<std::vector<MemberConversation>> ListForUser(const std::string& t,
                                                      const std::string& u) override {
    return base_.ListForUser(t, u);
  }
  Result<std::optional<MemberRow>> GetMember(const std::string& t, const std::string& c,
                                             const std::string& u) override {
    return base_.GetMember(t, c, u);
  }
  Result<std::optional<ConversationSnapshot>> LoadConversation(const std::string& t,
                                                               const std::string& c) override {
    ++loads;
    return base_.LoadConversation(t, c);
  }
  Result<int64_t> CountReaders(const std::string& t, const std::string& c, int64_t s,
                               const std::string& e) override {
    return base_.CountReaders(t, c, s, e);
  }

 private:
  ConversationStore& base_;
};

class WriterRules : public ::testing::Test {
 protected:
  void Start(StorageWriterOptions options = {}) {
    writer_ = std::make_unique<StorageWriter>(memory_, counting_, clock_, options, nullptr);
    writer_->SetReplies(outcomes_.get());
    writer_->Start();
  }
  ~WriterRules() override {
    if (writer_) writer_->Stop();
  }
  Command Base(const std::string& rid) {
    Command c;
    c.tenant = "t";
    c.actor = "alice";
    c.actor_device = "d1";
    c.reply = {"gw", 1, rid};
    return c;
  }
  Command Send(const std::string& rid, const std::string& peer, const std::string& cmid) {
    Command c = Base(rid);
    SendCommand send;
    send.message.set_conversation_id(SingleConversationId("alice", peer));
    send.message.set_conversation_type(pb::CONVERSATION_TYPE_SINGLE);
    send.message.set_sender("alice");
    send.message.set_client_msg_id(cmid);
    send.members = {"alice", peer};
    c.body = std::move(send);
    return c;
  }
  Command Group(const std::string& rid, pb::GroupRequest request) {
    Command c = Base(rid);
    c.body = GroupCommand{std::move(request)};
    return c;
  }
  CommandOutcome Submit(Command c) {
    std::string rid = c.reply.request_id;
    EXPECT_TRUE(writer_->Submit(std::move(c)).ok());
    return outcomes_->Get(rid);
  }
  std::string CreateGroup(const std::string& key) {
    pb::GroupRequest create;
    create.set_client_msg_id(key);
    create.mutable_create()->add_member_ids("bob");
    auto out = Submit(Group("create-" + key, create));
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
    return out.group.conversation_id();
  }

  ManualClock clock_;
  MemoryStore memory_;
  CountingConversations counting_{memory_};
  std::shared_ptr<Outcomes> outcomes_ = std::make_shared<Outcomes>();
  std::unique_ptr<StorageWriter> writer_;
};

TEST_F(WriterRules, AGroupCreatedTwiceWithOneKeyIsOneGroup) {
  Start();
  pb::GroupRequest create;
  create.set_client_msg_id("create-1");
  create.mutable_create()->add_member_ids("bob");
  // The same key twice in one batch, then again later (a resend after a reconnect).
  ASSERT_TRUE(writer_->Submit(Group("a", create)).ok());
  ASSERT_TRUE(writer_->Submit(Group("b", create)).ok());
  auto a = outcomes_->Get("a");
  auto b = outcomes_->Get("b");
  auto c = Submit(Group("c", create));
  ASSERT_TRUE(a.status.ok() && b.status.ok() && c.status.ok()) << c.status.ToString();
  EXPECT_FALSE(a.duplicate);
  EXPECT_TRUE(b.duplicate);
  EXPECT_TRUE(c.duplicate);
  EXPECT_EQ(b.group.conversation_id(), a.group.conversation_id());
  EXPECT_EQ(c.group.conversation_id(), a.group.conversation_id());
  EXPECT_EQ(c.message.seq(), a.message.seq());
  EXPECT_EQ(memory_.ListForUser("t", "alice")->size(), 1u);
}

TEST_F(WriterRules, AGroupNamedByTheOrchestratorKeepsItsNameAndCannotBeCreatedTwice) {
  Start();
  pb::GroupRequest create;
  create.set_conversation_id("group:named-upstream");
  create.set_client_msg_id("n1");
  create.mutable_create()->add_member_ids("bob");
  auto first = Submit(Group("first", create));
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(first.group.conversation_id(), "group:named-upstream");
  create.set_client_msg_id("n2");  // another create with the same name
  auto second = Submit(Group("second", create));
  EXPECT_EQ(second.status.code(), Code::kAlreadyExists) << second.status.ToString();
  EXPECT_EQ(memory_.ListForUser("t", "alice")->size(), 1u);
}

TEST_F(WriterRules, AddMembersResentWithItsKeyIsNotAConflict) {
  Start();
  std::string group = CreateGroup("g");
  pb::GroupRequest add;
  add.set_conversation_id(group);
  add.set_client_msg_id("add-carol");
  add.mutable_add_members()->add_user_ids("carol");
  auto first = Submit(Group("first", add));
  auto again = Submit(Group("again", add));
  ASSERT_TRUE(first.status.ok());
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.message.seq(), first.message.seq());
  EXPECT_EQ(*memory_.MaxSeq("t", group), first.message.seq());  // one event stored
}

TEST_F(WriterRules, AKeyReusedForAnotherRequestIsRefused) {
  Start();
  ASSERT_TRUE(Submit(Send("to-bob", "bob", "k1")).status.ok());
  auto other_conversation = Submit(Send("to-carol", "carol", "k1"));
  EXPECT_EQ(other_conversation.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(other_conversation.status.detail(), pb::ERROR_CODE_IDEMPOTENCY_KEY_REUSED);

  Command op = Base("op");
  pb::MessageOpRequest recall;
  recall.set_conversation_id(SingleConversationId("alice", "bob"));
  recall.set_target_seq(1);
  recall.set_client_msg_id("k1");  // the send's key
  recall.mutable_recall();
  op.body = MessageOpCommand{recall};
  auto refused = Submit(std::move(op));
  EXPECT_EQ(refused.status.detail(), pb::ERROR_CODE_IDEMPOTENCY_KEY_REUSED);

  pb::GroupRequest create;
  create.set_client_msg_id("k1");
  create.mutable_create()->add_member_ids("bob");
  EXPECT_EQ(Submit(Group("group", create)).status.detail(), pb::ERROR_CODE_IDEMPOTENCY_KEY_REUSED);
  EXPECT_EQ(*memory_.MaxSeq("t", SingleConversationId("alice", "bob")), 1);
}

TEST_F(WriterRules, AMessageOpRetriedAfterLosingAccessGetsItsFirstOutcome) {
  Start();
  std::string group = CreateGroup("g");
  Command post = Base("post");
  SendCommand send;
  send.message.set_conversation_id(group);
  send.message.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);
  send.message.set_sender("alice");
  send.message.set_client_msg_id("hello");
  post.body = std::move(send);
  auto posted = Submit(std::move(post));
  ASSERT_TRUE(posted.status.ok());
  auto react = [&](const std::string& rid) {
    Command c = Base(rid);
    c.actor = "bob";
    pb::MessageOpRequest op;
    op.set_conversation_id(group);
    op.set_target_seq(posted.message.seq());
    op.set_client_msg_id("bob-reacts");
    op.mutable_reaction()->set_emoji("+1");
    op.mutable_reaction()->set_add(true);
    c.body = MessageOpCommand{op};
    return Submit(std::move(c));
  };
  auto first = react("first");
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  pb::GroupRequest remove;
  remove.set_conversation_id(group);
  remove.mutable_remove_members()->add_user_ids("bob");
  ASSERT_TRUE(Submit(Group("remove-bob", remove)).status.ok());
  auto retry = react("retry");  // e.g. resent after a reconnect
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.message.seq(), first.message.seq());
}

TEST_F(WriterRules, RemoveAndReAddInOneBatchLeavesAMember) {
  Start();
  std::string group = CreateGroup("g");
  pb::GroupRequest remove;
  remove.set_conversation_id(group);
  remove.mutable_remove_members()->add_user_ids("bob");
  pb::GroupRequest add;
  add.set_conversation_id(group);
  add.mutable_add_members()->add_user_ids("bob");
  for (int i = 0; i < 5; ++i) {  // pipelined: several pairs land in one batch
    ASSERT_TRUE(writer_->Submit(Group("r" + std::to_string(i), remove)).ok());
    ASSERT_TRUE(writer_->Submit(Group("a" + std::to_string(i), add)).ok());
  }
  ASSERT_TRUE(outcomes_->Get("a4").status.ok());
  EXPECT_TRUE(memory_.GetMember("t", group, "bob")->has_value());
  writer_->Stop();
  // The store agrees with the writer: a writer started afresh lets bob post.
  writer_.reset();
  Start();
  Command post = Base("bob-posts");
  post.actor = "bob";
  SendCommand send;
  send.message.set_conversation_id(group);
  send.message.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);
  send.message.set_sender("bob");
  send.message.set_client_msg_id("hello");
  post.body = std::move(send);
  EXPECT_TRUE(Submit(std::move(post)).status.ok());
}

TEST_F(WriterRules, TheDeliveredCursorCannotPassTheStoredSeq) {
  Start();
  ASSERT_TRUE(Submit(Send("m1", "bob", "k1")).status.ok());
  ASSERT_TRUE(Submit(Send("m2", "bob", "k2")).status.ok());
  Command cursor = Base("cursor");
  cursor.actor = "bob";
  cursor.body = CursorCommand{{"t", SingleConversationId("alice", "bob"), "bob", 1'000'000, 0}};
  ASSERT_TRUE(Submit(std::move(cursor)).status.ok());
  auto list = memory_.ListForUser("t", "bob");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].delivered_seq, 2);
}

TEST_F(WriterRules, CachesStayBoundedAndSeqsStayRight) {
  StorageWriterOptions options;
  options.cached_conversations = 4;
  Start(options);
  for (int round = 1; round <= 2; ++round) {
    for (int peer = 0; peer < 20; ++peer) {
      std::string id = std::to_string(round) + "-" + std::to_string(peer);
      auto out = Submit(Send(id, "p" + std::to_string(peer), "k" + id));
      ASSERT_TRUE(out.status.ok());
      EXPECT_EQ(out.message.seq(), round) << id;  // evicted max seqs are read again
    }
  }
}

TEST_F(WriterRules, AMissingGroupIsLoadedOnce) {
  Start();
  for (int i = 0; i < 10; ++i) {
    Command post = Base("p" + std::to_string(i));
    SendCommand send;
    send.message.set_conversation_id("group:does-not-exist");
    send.message.set_conversation_type(pb::CONVERSATION_TYPE_GROUP);
    send.message.set_sender("alice");
    send.message.set_client_msg_id("k" + std::to_string(i));
    post.body = std::move(send);
    EXPECT_EQ(Submit(std::move(post)).status.detail(), pb::ERROR_CODE_NOT_MEMBER);
  }
  EXPECT_EQ(counting_.loads.load(), 1);
}

TEST(WriterQueue, IsBoundedInBytes) {
  ManualClock clock;
  MemoryStore store;
  StorageWriterOptions options;
  options.max_pending_bytes = 64 * 1024;
  StorageWriter writer(store, store, clock, options, nullptr);  // not started: nothing drains
  Command big;
  big.tenant = "t";
  SendCommand send;
  send.message.mutable_content()->set_text(std::string(20'000, 'x'));
  big.body = send;
  EXPECT_TRUE(writer.Submit(big).ok());
  EXPECT_TRUE(writer.Submit(big).ok());
  EXPECT_TRUE(writer.Submit(big).ok());
  EXPECT_EQ(writer.Submit(big).code(), Code::kUnavailable);
}

}  // namespace
}  // namespace flare
