// storage.v1.StorageReaderService end to end: a real gRPC server on a free
// loopback port in this process serving a LocalStorageReader over a
// MemoryStore, and the gRPC client called through the StorageReader
// interface. Also the call plumbing every service shares: metadata,
// UNAUTHENTICATED, error codes across the hop, deadlines and retries.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "adapters/memory/memory_store.h"
#include "rpc/common/client_call.h"
#include "rpc/common/rpc_server.h"
#include "rpc/common/trace_context.h"
#include "rpc/storage_reader/storage_reader_grpc.h"
#include "storage/v1/storage_reader.grpc.pb.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using ::google::protobuf::util::MessageDifferencer;

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

StoredMessage Text(const std::string& conversation, pb::ConversationType type, int64_t seq,
                   const std::string& sender) {
  StoredMessage sm;
  sm.tenant = "t";
  Message& m = sm.message;
  m.set_conversation_id(conversation);
  m.set_conversation_type(type);
  m.set_seq(seq);
  m.set_server_msg_id(conversation + "#" + std::to_string(seq));
  m.set_client_msg_id("c-" + conversation + "-" + std::to_string(seq));
  m.set_sender(sender);
  m.set_type(pb::MESSAGE_TYPE_TEXT);
  m.mutable_content()->set_text("hello " + std::to_string(seq));
  m.set_server_time_ms(1'700'000'000'000 + seq);
  return sm;
}

// The reader beneath the server: fails the first `failures` calls with
// `fault` (a fault-injecting wrapper), counts every call and keeps what the
// last one was told.
class ObservedReader final : public StorageReader {
 public:
  explicit ObservedReader(StorageReader& inner) : inner_(inner) {}
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  Status fault = Unavailable("injected fault");  // set before calls start

  Result<pb::SyncResult> Sync(const Principal& who, const pb::SyncRequest& request) override {
    {
      std::lock_guard lock(mu_);
      last_who_ = who;
      last_trace_ = CurrentTrace() ? *CurrentTrace() : TraceContext{};
    }
    ++calls;
    if (failures.fetch_sub(1) > 0) return fault;
    return inner_.Sync(who, request);
  }
  Result<pb::SyncResult> History(const Principal& who, const HistoryQuery& query) override {
    ++calls;
    return inner_.History(who, query);
  }
  Result<pb::SyncResult> GetMessages(const Principal& who, const GetMessagesQuery& query) override {
    ++calls;
    return inner_.GetMessages(who, query);
  }
  Result<pb::SearchResult> Search(const Principal& who, const pb::SearchRequest& request) override {
    ++calls;
    return inner_.Search(who, request);
  }
  Principal last_who() {
    std::lock_guard lock(mu_);
    return last_who_;
  }
  TraceContext last_trace() {
    std::lock_guard lock(mu_);
    return last_trace_;
  }

 private:
  StorageReader& inner_;
  std::mutex mu_;
  Principal last_who_;
  TraceContext last_trace_;
};

class RpcStorageReader : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch batch;
    std::string single = SingleConversationId("alice", "bob");
    for (int seq = 1; seq <= 5; ++seq) {
      batch.messages.push_back(
          Text(single, pb::CONVERSATION_TYPE_SINGLE, seq, seq % 2 ? "alice" : "bob"));
    }
    MembershipRecord member;
    member.tenant = "t";
    member.conversation_id = "g1";
    member.conversation_type = pb::CONVERSATION_TYPE_GROUP;
    member.user_id = "alice";
    batch.memberships.push_back(member);
    batch.messages.push_back(Text("g1", pb::CONVERSATION_TYPE_GROUP, 1, "alice"));
    ASSERT_TRUE(store_.Write(batch).ok());

    service_ = NewStorageReaderGrpcService(observed_);
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.deadline_ms = 5'000;
    options_.retry = RetryPolicy{3, 20, 1'000, 0};
  }

  std::string target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  std::unique_ptr<StorageReader> Client(RpcOptions options) {
    return NewStorageReaderGrpcClient(OpenRpcChannel(target()), options,
                                      RpcSeams{&clock_, &random_, &sleeper_});
  }

  static pb::SyncRequest Request(const std::string& peer, int64_t after, int limit) {
    pb::SyncRequest r;
    r.set_peer_user_id(peer);
    r.set_after_seq(after);
    r.set_limit(limit);
    return r;
  }

  MemoryStore store_;
  ConversationAccess access_{store_};
  LocalStorageReader local_{store_, access_, SyncLimits{}};
  ObservedReader observed_{local_};
  RpcServicePtr service_;
  std::unique_ptr<RpcServer> server_;
  RpcOptions options_;
  ManualClock clock_;
  testing::StepRandom random_;
  testing::ClockSleeper sleeper_{clock_};
  Principal alice_{"t", "alice", "phone", "ios"};
};

TEST_F(RpcStorageReader, PagesOverGrpcEqualTheLocalReader) {
  auto client = Client(options_);
  pb::SyncRequest group;
  group.set_conversation_id("g1");
  for (const pb::SyncRequest& request :
       {Request("bob", 0, 2), Request("bob", 2, 2), Request("bob", 4, 0), group}) {
    auto local = local_.Sync(alice_, request);
    auto remote = client->Sync(alice_, request);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    ASSERT_TRUE(remote.ok()) << remote.status().ToString();
    EXPECT_GT(remote->messages_size(), 0);
    EXPECT_TRUE(MessageDifferencer::Equals(*local, *remote)) << remote->DebugString();
  }
  auto first = client->Sync(alice_, Request("bob", 0, 2));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->has_more());
  EXPECT_EQ(first->messages(1).content().text(), "hello 2");
}

TEST_F(RpcStorageReader, IdentityAndIdsTravelAsMetadataAndAppearInTheLogs) {
  testing::LogCapture logs;
  auto client = Client(options_);
  {
    ScopedTrace trace(TraceContext{"req-42", kTraceparent});
    ASSERT_TRUE(client->Sync(alice_, Request("bob", 0, 1)).ok());
  }
  Principal seen = observed_.last_who();
  EXPECT_EQ(seen.tenant, "t");
  EXPECT_EQ(seen.user_id, "alice");
  EXPECT_EQ(seen.device, "phone");
  EXPECT_EQ(seen.platform, "ios");
  TraceContext trace = observed_.last_trace();
  EXPECT_EQ(trace.request_id, "req-42");
  auto parent = TraceParent::Parse(trace.traceparent);
  ASSERT_TRUE(parent.has_value()) << trace.traceparent;
  EXPECT_EQ(parent->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736") << "the caller's trace goes on";
  EXPECT_NE(parent->parent_id, "00f067aa0ba902b7") << "the call is a new span of it";

  std::string text = logs.text();
  EXPECT_NE(text.find("storage.v1.StorageReaderService/Sync OK"), std::string::npos) << text;
  EXPECT_NE(text.find("tenant=t user=alice device=phone request_id=req-42 "
                      "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"),
            std::string::npos)
      << text;
}

TEST_F(RpcStorageReader, ACallOutsideAnyTraceStartsOne) {
  auto client = Client(options_);
  ASSERT_TRUE(client->Sync(alice_, Request("bob", 0, 1)).ok());
  TraceContext first = observed_.last_trace();
  ASSERT_TRUE(client->Sync(alice_, Request("bob", 0, 1)).ok());
  TraceContext second = observed_.last_trace();
  EXPECT_EQ(first.request_id.size(), 26u) << "a ULID: " << first.request_id;
  auto a = TraceParent::Parse(first.traceparent);
  auto b = TraceParent::Parse(second.traceparent);
  ASSERT_TRUE(a && b) << first.traceparent << " " << second.traceparent;
  EXPECT_NE(a->trace_id, b->trace_id);
  EXPECT_NE(first.request_id, second.request_id);
}

TEST_F(RpcStorageReader, ACallWithoutIdentityIsRefusedUnauthenticated) {
  auto client = Client(options_);
  auto result = client->Sync(Principal{}, Request("bob", 0, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnauthenticated) << result.status().ToString();

  // A raw call that sends a user but no tenant.
  auto stub = ::storage::v1::StorageReaderService::NewStub(OpenRpcChannel(target()));
  grpc::ClientContext context;
  context.AddMetadata("x-user-id", "alice");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pb::SyncResult response;
  grpc::Status raw = stub->Sync(&context, Request("bob", 0, 1), &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::UNAUTHENTICATED) << raw.error_message();
  EXPECT_EQ(observed_.calls.load(), 0) << "refused before the reader runs";
}

TEST_F(RpcStorageReader, AClientErrorCodeSurvivesTheHop) {
  Principal carol{"t", "carol", "web", "web"};
  pb::SyncRequest request;
  request.set_conversation_id("g1");
  auto local = local_.Sync(carol, request);
  ASSERT_FALSE(local.ok());
  ASSERT_EQ(local.status().detail(), pb::ERROR_CODE_NOT_MEMBER);

  auto remote = Client(options_)->Sync(carol, request);
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(remote.status().detail(), pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(remote.status().message(), local.status().message());
  EXPECT_EQ(observed_.calls.load(), 1) << "PERMISSION_DENIED is not retried";
}

TEST_F(RpcStorageReader, AnIoErrorComesBackAsOneAndIsNotRetried) {
  observed_.failures = 1;
  observed_.fault = IoError("disk gone");
  auto result = Client(options_)->Sync(alice_, Request("bob", 0, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kIoError) << "INTERNAL on the wire, IO_ERROR again";
  EXPECT_EQ(result.status().message(), "disk gone");
  EXPECT_EQ(observed_.calls.load(), 1);
}

TEST_F(RpcStorageReader, ACallToAServerThatNeverAnswersEndsAtItsDeadline) {
  testing::SilentListener silent;
  RpcOptions options = options_;
  options.deadline_ms = 300;
  // The system's clock: the deadline is real time here.
  auto client = NewStorageReaderGrpcClient(
      OpenRpcChannel("127.0.0.1:" + std::to_string(silent.port())), options);
  auto start = std::chrono::steady_clock::now();
  auto result = client->Sync(alice_, Request("bob", 0, 1));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
  EXPECT_NE(result.status().message().find("deadline exceeded"), std::string::npos)
      << result.status().ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(RpcStorageReader, AnAttemptTimeoutIsRetriedWithinTheCallsDeadline) {
  testing::SilentListener silent;
  RpcOptions options = options_;
  options.deadline_ms = 10'000;  // on the manual clock, which only backoff moves
  options.retry.attempt_timeout_ms = 100;
  auto client =
      NewStorageReaderGrpcClient(OpenRpcChannel("127.0.0.1:" + std::to_string(silent.port())),
                                 options, RpcSeams{&clock_, &random_, &sleeper_});
  auto start = std::chrono::steady_clock::now();
  auto result = client->Sync(alice_, Request("bob", 0, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(sleeper_.sleeps().size(), 2u) << "three attempts, two waits";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(RpcStorageReader, AnIdempotentCallIsRetriedAfterUnavailableWithBackoff) {
  observed_.failures = 2;
  auto remote = Client(options_)->Sync(alice_, Request("bob", 0, 3));
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ(observed_.calls.load(), 3);
  auto local = local_.Sync(alice_, Request("bob", 0, 3));
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*local, *remote));
  // Doubling from 20 ms, each wait between half and all of its ceiling.
  std::vector<int64_t> sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0], 10);
  EXPECT_LE(sleeps[0], 20);
  EXPECT_GE(sleeps[1], 20);
  EXPECT_LE(sleeps[1], 40);
}

TEST_F(RpcStorageReader, RetriesStopAtMaxAttempts) {
  observed_.failures = 10;
  auto result = Client(options_)->Sync(alice_, Request("bob", 0, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
  EXPECT_EQ(result.status().message(), "injected fault");
  EXPECT_EQ(observed_.calls.load(), 3);
}

TEST_F(RpcStorageReader, RetriesStopWhenTheNextWaitWouldPassTheDeadline) {
  observed_.failures = 10;
  RpcOptions options = options_;
  options.deadline_ms = 100;  // manual clock: only the waits spend it
  options.retry = RetryPolicy{10, 80, 1'000, 0};
  auto result = Client(options)->Sync(alice_, Request("bob", 0, 1));
  ASSERT_FALSE(result.ok());
  // First wait 40..80 ms fits; the second (80..160 ms) would not.
  EXPECT_EQ(observed_.calls.load(), 2);
  EXPECT_EQ(sleeper_.sleeps().size(), 1u);
}

TEST_F(RpcStorageReader, ACallThatIsNotIdempotentIsNeverRetried) {
  observed_.failures = 1;
  rpc::RpcCaller caller("storage.v1.StorageReaderService", options_,
                        RpcSeams{&clock_, &random_, &sleeper_});
  auto stub = ::storage::v1::StorageReaderService::NewStub(OpenRpcChannel(target()));
  pb::SyncResult response;
  Status status = caller.Call("Sync", alice_, rpc::Idempotency::kNotIdempotent,
                              [&](grpc::ClientContext& context) {
                                return stub->Sync(&context, Request("bob", 0, 1), &response);
                              });
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_EQ(observed_.calls.load(), 1);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

}  // namespace
}  // namespace flare
