// session.v1.SessionService end to end: a real gRPC server on a free
// loopback port in this process serving a LocalSessionService over a
// MemoryStore, and the gRPC client called through the SessionService
// interface.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>

#include "adapters/memory/memory_store.h"
#include "rpc/common/rpc_server.h"
#include "rpc/session/session_grpc.h"
#include "support/group_texts.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::google::protobuf::util::MessageDifferencer;

// The service beneath the server: fails the first `failures` calls with
// UNAVAILABLE, counts calls and keeps the last caller.
class ObservedSessions final : public SessionService {
 public:
  explicit ObservedSessions(SessionService& inner) : inner_(inner) {}
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};

  using SessionService::Bootstrap;
  Result<pb::BootstrapResult> Bootstrap(const Principal& who,
                                        const pb::BootstrapRequest& request) override {
    {
      std::lock_guard lock(mu_);
      last_who_ = who;
    }
    ++calls;
    if (failures.fetch_sub(1) > 0) return Unavailable("injected fault");
    return inner_.Bootstrap(who, request);
  }
  Result<MemberPage> Members(const Principal& who, const MembersQuery& query) override {
    ++calls;
    return inner_.Members(who, query);
  }
  Result<pb::ConversationSummary> Cursor(const Principal& who,
                                         const ConversationTarget& target) override {
    ++calls;
    return inner_.Cursor(who, target);
  }
  Result<pb::GroupInfo> Group(const Principal& who, const std::string& conversation_id) override {
    ++calls;
    return inner_.Group(who, conversation_id);
  }
  Principal last_who() {
    std::lock_guard lock(mu_);
    return last_who_;
  }

 private:
  SessionService& inner_;
  std::mutex mu_;
  Principal last_who_;
};

class RpcSession : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch batch;
    for (const char* group : {"g1", "g2", "g3"}) {
      MembershipRecord member;
      member.tenant = "t";
      member.conversation_id = group;
      member.conversation_type = pb::CONVERSATION_TYPE_GROUP;
      member.user_id = "alice";
      batch.memberships.push_back(member);
    }
    testing::AppendGroupTexts(batch, "g2", 3, "bob");
    CursorUpdate read{"t", "g2", "alice", 2, 1};
    batch.cursors.push_back(read);
    ASSERT_TRUE(store_.Write(batch).ok());

    service_ = NewSessionGrpcService(observed_);
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.deadline_ms = 5'000;
    client_ = NewSessionGrpcClient(OpenRpcChannel("127.0.0.1:" + std::to_string(server_->port())),
                                   options_, RpcSeams{&clock_, &random_, &sleeper_});
  }

  MemoryStore store_;
  LocalSessionService local_{store_, store_, BootstrapLimits{2, 1024 * 1024}};
  ObservedSessions observed_{local_};
  RpcServicePtr service_;
  std::unique_ptr<RpcServer> server_;
  RpcOptions options_;
  ManualClock clock_;
  testing::StepRandom random_;
  testing::ClockSleeper sleeper_{clock_};
  std::unique_ptr<SessionService> client_;
  Principal alice_{"t", "alice", "laptop", "web"};
};

TEST_F(RpcSession, BootstrapPagesOverGrpcEqualTheLocalService) {
  pb::BootstrapRequest request;
  int pages = 0;
  while (true) {
    auto local = local_.Bootstrap(alice_, request);
    auto remote = client_->Bootstrap(alice_, request);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    ASSERT_TRUE(remote.ok()) << remote.status().ToString();
    EXPECT_TRUE(MessageDifferencer::Equals(*local, *remote)) << remote->DebugString();
    ++pages;
    if (!remote->has_more()) break;
    request.set_cursor(remote->next_cursor());
  }
  EXPECT_EQ(pages, 2) << "three conversations, two per page";

  auto first = client_->Bootstrap(alice_);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->conversations_size(), 2);
  const pb::ConversationSummary& g2 = first->conversations(1);
  EXPECT_EQ(g2.conversation_id(), "g2");
  EXPECT_EQ(g2.max_seq(), 3);
  EXPECT_EQ(g2.read_seq(), 1);
  EXPECT_EQ(g2.unread(), 2);
  EXPECT_EQ(g2.last_message().content().text(), "hi 3");
  EXPECT_EQ(observed_.last_who().device, "laptop");
}

TEST_F(RpcSession, ACallWithoutAUserIsRefusedUnauthenticated) {
  auto result = client_->Bootstrap(Principal{"t", "", "", ""});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(observed_.calls.load(), 0);
}

TEST_F(RpcSession, BootstrapIsRetriedAfterUnavailable) {
  observed_.failures = 1;
  auto result = client_->Bootstrap(alice_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->conversations_size(), 2);
  EXPECT_EQ(observed_.calls.load(), 2);
  EXPECT_EQ(sleeper_.sleeps().size(), 1u);
}

}  // namespace
}  // namespace flare
