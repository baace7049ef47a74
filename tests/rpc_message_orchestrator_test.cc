// message.v1.MessageOrchestratorService end to end: a real gRPC server on
// a loopback port in this process serving a recording MessageService (or
// an orchestrator that reads and never answers), and the gateway's client
// called through the MessageService interface, its refusals caught by a
// recording CommandReplies.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "message/v1/message_orchestrator.grpc.pb.h"
#include "rpc/common/rpc_server.h"
#include "rpc/common/trace_context.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"
#include "support/free_port.h"
#include "support/rpc_support.h"

namespace flare {
namespace {

namespace mpb = ::message::v1;
using namespace std::chrono_literals;

constexpr auto kWait = 3s;  // the most any condition below may take

// Waits on `cv` (under `lock`) for `done`, at most kWait.
template <typename Pred>
bool WaitOn(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Pred done) {
  return cv.wait_for(lock, kWait, done);
}

// For state without a notification (the client's counters): checked
// until true or kWait has passed.
bool Eventually(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + kWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A second MessageService: records every call (with the trace it was
// served under) and refuses the client_msg_ids it is told to.
class RecordingMessages final : public MessageService {
 public:
  struct Call {
    CommandKind kind;
    Principal who;
    ReplyAddress reply;
    std::string key;  // client_msg_id, or the cursor's conversation
    TraceContext trace;
  };

  void Refuse(const std::string& client_msg_id, Status status) {
    std::lock_guard lock(mu_);
    refused_[client_msg_id] = std::move(status);
  }
  Status Send(const Principal& who, pb::SendRequest& request, ReplyAddress reply) override {
    return Record(CommandKind::kSend, who, reply, request.client_msg_id());
  }
  Status Group(const Principal& who, pb::GroupRequest& request, ReplyAddress reply) override {
    return Record(CommandKind::kGroup, who, reply, request.client_msg_id());
  }
  Status MessageOp(const Principal& who, pb::MessageOpRequest& request,
                   ReplyAddress reply) override {
    return Record(CommandKind::kMessageOp, who, reply, request.client_msg_id());
  }
  Status MoveCursor(const Principal& who, const std::string& conversation_id, int64_t read_seq,
                    int64_t delivered_seq, ReplyAddress reply) override {
    return Record(CommandKind::kCursor, who, reply, conversation_id);
  }

  bool WaitForCalls(size_t n) {
    std::unique_lock lock(mu_);
    return WaitOn(cv_, lock, [&] { return calls_.size() >= n; });
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  Status Record(CommandKind kind, const Principal& who, const ReplyAddress& reply,
                const std::string& key) {
    std::lock_guard lock(mu_);
    calls_.push_back({kind, who, reply, key, CurrentTrace() ? *CurrentTrace() : TraceContext{}});
    cv_.notify_all();
    auto it = refused_.find(key);
    return it == refused_.end() ? Status::Ok() : it->second;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::map<std::string, Status> refused_;
};

class RecordingReplies final : public CommandReplies {
 public:
  struct Answer {
    ReplyAddress to;
    CommandKind kind;
    Status status;
  };
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    std::lock_guard lock(mu_);
    answers_.push_back({to, outcome.kind, outcome.status});
    cv_.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return WaitOn(cv_, lock, [&] { return answers_.size() >= n; });
  }
  // By session id.
  std::map<uint64_t, Answer> answers() {
    std::lock_guard lock(mu_);
    std::map<uint64_t, Answer> out;
    for (const Answer& a : answers_) out.emplace(a.to.session_id, a);
    return out;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return answers_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> answers_;
};

// An orchestrator that reads every batch and answers nothing, as one that
// hangs after taking the requests; it notes the stream's metadata.
class SilentOrchestrator final : public mpb::MessageOrchestratorService::Service {
 public:
  grpc::Status Submit(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<mpb::AcceptedBatch, mpb::SubmissionBatch>* stream) override {
    {
      std::lock_guard lock(mu_);
      for (const auto& [key, value] : context->client_metadata()) {
        metadata_[std::string(key.data(), key.size())] = std::string(value.data(), value.size());
      }
    }
    mpb::SubmissionBatch batch;
    while (stream->Read(&batch)) {
      std::lock_guard lock(mu_);
      entries_ += batch.entries_size();
      cv_.notify_all();
    }
    return grpc::Status::OK;
  }
  bool WaitForEntries(int n) {
    std::unique_lock lock(mu_);
    return WaitOn(cv_, lock, [&] { return entries_ >= n; });
  }
  std::string metadata(const std::string& key) {
    std::lock_guard lock(mu_);
    return metadata_[key];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entries_ = 0;
  std::map<std::string, std::string> metadata_;
};

pb::SendRequest SendOf(const std::string& client_msg_id) {
  pb::SendRequest r;
  r.set_peer_user_id("bob");
  r.set_client_msg_id(client_msg_id);
  r.mutable_content()->set_text("hi " + client_msg_id);
  return r;
}

pb::GroupRequest GroupOf(const std::string& client_msg_id) {
  pb::GroupRequest r;
  r.set_conversation_id("g1");
  r.set_client_msg_id(client_msg_id);
  r.mutable_add_members()->add_user_ids("carol");
  return r;
}

pb::MessageOpRequest OpOf(const std::string& client_msg_id) {
  pb::MessageOpRequest r;
  r.set_conversation_id("g1");
  r.set_target_seq(1);
  r.set_client_msg_id(client_msg_id);
  r.mutable_recall();
  return r;
}

ReplyAddress ReplyTo(uint64_t session) {
  return ReplyAddress{"gw-1", session, "req-" + std::to_string(session)};
}

class RpcMessageOrchestrator : public ::testing::Test {
 protected:
  void SetUp() override { options_.deadline_ms = 2'000; }

  // Serves `service` on port_ (a free one when not chosen yet).
  void Serve(grpc::Service* service) {
    if (port_ == 0) port_ = testing::FreePort();
    auto server = RpcServer::Start("127.0.0.1:" + std::to_string(port_), {service});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  void StopServer() {
    server_->Shutdown(0);
    server_.reset();
  }

  // A channel that retries its connection within milliseconds (gRPC waits
  // a second by default), so a restarted server is found at once.
  std::shared_ptr<grpc::Channel> Channel() {
    if (port_ == 0) port_ = testing::FreePort();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 50);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                     grpc::InsecureChannelCredentials(), args);
  }

  std::unique_ptr<MessageOrchestratorClient> Client(MessageOrchestratorClientOptions o = {}) {
    o.seams = RpcSeams{&clock_, &random_, &sleeper_};
    return NewMessageOrchestratorGrpcClient(Channel(), options_, replies_, o);
  }

  static bool Settled(MessageOrchestratorClient& client) {
    return Eventually([&] { return client.stats().unanswered == 0; });
  }

  int port_ = 0;
  RpcOptions options_;
  ManualClock clock_;
  testing::StepRandom random_;
  testing::ClockSleeper sleeper_{clock_};
  RecordingMessages messages_;
  RecordingReplies replies_;
  RpcServicePtr service_ = NewMessageOrchestratorGrpcService(messages_);
  SilentOrchestrator silent_;
  std::unique_ptr<RpcServer> server_;
  Principal alice_{"t", "alice", "phone", "ios"};
};

TEST_F(RpcMessageOrchestrator, SendsFromThreadsArriveOnceIntactAndBatched) {
  // Queued before the orchestrator is up, so the sender finds them all
  // waiting when the stream opens.
  auto client = Client();
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Principal who{"t", "u" + std::to_string(t), "d" + std::to_string(t), "ios"};
      for (int i = 0; i < kPerThread; ++i) {
        pb::SendRequest request = SendOf(std::to_string(t) + "-" + std::to_string(i));
        EXPECT_TRUE(client->Send(who, request, ReplyTo(t * 1000 + i + 1)).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Serve(service_.get());

  ASSERT_TRUE(messages_.WaitForCalls(kThreads * kPerThread));
  ASSERT_TRUE(Settled(*client));
  std::vector<RecordingMessages::Call> calls = messages_.calls();
  ASSERT_EQ(calls.size(), size_t{kThreads * kPerThread});
  std::set<std::string> keys;
  for (const auto& call : calls) {
    keys.insert(call.key);
    int t = std::stoi(call.key.substr(0, call.key.find('-')));
    int i = std::stoi(call.key.substr(call.key.find('-') + 1));
    EXPECT_EQ(call.kind, CommandKind::kSend);
    EXPECT_EQ(call.who.tenant, "t");
    EXPECT_EQ(call.who.user_id, "u" + std::to_string(t));
    EXPECT_EQ(call.who.device, "d" + std::to_string(t));
    EXPECT_EQ(call.who.platform, "ios");
    EXPECT_EQ(call.reply.gateway_id, "gw-1");
    EXPECT_EQ(call.reply.session_id, uint64_t(t * 1000 + i + 1));
    EXPECT_EQ(call.reply.request_id, "req-" + std::to_string(t * 1000 + i + 1));
    EXPECT_FALSE(call.trace.request_id.empty());  // the stream's, current while served
  }
  EXPECT_EQ(keys.size(), calls.size());  // each once
  // Counted once Write returns, which may be after the answers came.
  ASSERT_TRUE(Eventually(
      [&] { return client->stats().entries_written == uint64_t{kThreads * kPerThread}; }));
  SubmitStreamStats stats = client->stats();
  EXPECT_EQ(stats.entries_written, uint64_t{kThreads * kPerThread});
  EXPECT_LT(stats.batches_written, uint64_t{kThreads * kPerThread});
  EXPECT_LE(stats.batches_written, 2u);
  EXPECT_EQ(replies_.size(), 0u);  // accepted: the storage writer answers them
}

TEST_F(RpcMessageOrchestrator, ALingeringSenderWritesWhatArrivesMeanwhileAsOneBatch) {
  Serve(service_.get());
  MessageOrchestratorClientOptions o;
  o.max_batch = 3;
  o.linger_us = 600'000'000;  // only a full batch ends the wait here
  auto client = Client(o);
  ASSERT_TRUE(Eventually([&] { return client->stats().streams_opened == 1; }));
  for (int i = 1; i <= 3; ++i) {
    pb::SendRequest request = SendOf("m" + std::to_string(i));
    ASSERT_TRUE(client->Send(alice_, request, ReplyTo(i)).ok());
  }
  ASSERT_TRUE(messages_.WaitForCalls(3));
  ASSERT_TRUE(Settled(*client));
  // Counted once Write returns, which may be after the answers came.
  ASSERT_TRUE(Eventually([&] { return client->stats().entries_written == 3; }));
  SubmitStreamStats stats = client->stats();
  EXPECT_EQ(stats.batches_written, 1u);
  EXPECT_EQ(stats.entries_written, 3u);

  // A batch that does not fill up goes once the linger has passed, and
  // not before (a lower bound: a busy machine can only make it later).
  o.linger_us = 50'000;
  auto short_linger = Client(o);
  ASSERT_TRUE(Eventually([&] { return short_linger->stats().streams_opened == 1; }));
  pb::SendRequest request = SendOf("alone");
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(short_linger->Send(alice_, request, ReplyTo(9)).ok());
  ASSERT_TRUE(messages_.WaitForCalls(4));
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(50));
  ASSERT_TRUE(Settled(*short_linger));
  ASSERT_TRUE(Eventually([&] { return short_linger->stats().entries_written == 1; }));
  EXPECT_EQ(short_linger->stats().batches_written, 1u);
}

TEST_F(RpcMessageOrchestrator, RefusalsGoToRepliesWithTheirCodesAcceptedOnesDoNot) {
  Serve(service_.get());
  messages_.Refuse("bad", PermissionDenied("not a member").WithDetail(pb::ERROR_CODE_NOT_MEMBER));
  messages_.Refuse("bad-group", InvalidArgument("no such group"));
  auto client = Client();
  pb::SendRequest good = SendOf("good"), bad = SendOf("bad"), later = SendOf("later");
  pb::GroupRequest group = GroupOf("bad-group");
  ASSERT_TRUE(client->Send(alice_, good, ReplyTo(1)).ok());
  ASSERT_TRUE(client->Send(alice_, bad, ReplyTo(2)).ok());
  ASSERT_TRUE(client->Group(alice_, group, ReplyTo(3)).ok());
  ASSERT_TRUE(client->Send(alice_, later, ReplyTo(4)).ok());

  ASSERT_TRUE(replies_.WaitFor(2));
  ASSERT_TRUE(Settled(*client));
  auto answers = replies_.answers();
  ASSERT_EQ(answers.size(), 2u) << "accepted entries are not answered here";
  const auto& refused = answers.at(2);
  EXPECT_EQ(refused.to.request_id, "req-2");
  EXPECT_EQ(refused.kind, CommandKind::kSend);
  EXPECT_EQ(refused.status.code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status.detail(), pb::ERROR_CODE_NOT_MEMBER);
  EXPECT_EQ(refused.status.message(), "not a member");
  EXPECT_EQ(answers.at(3).kind, CommandKind::kGroup);
  EXPECT_EQ(answers.at(3).status.code(), Code::kInvalidArgument);
  EXPECT_EQ(messages_.calls().size(), 4u);
}

TEST_F(RpcMessageOrchestrator, RestartedServerGetsIdempotentEntriesOthersAreUnavailable) {
  Serve(&silent_);
  auto client = Client();
  pb::SendRequest s1 = SendOf("s1"), s2 = SendOf("s2");
  pb::GroupRequest group = GroupOf("g");
  pb::MessageOpRequest op = OpOf("op");
  ASSERT_TRUE(client->Send(alice_, s1, ReplyTo(1)).ok());
  ASSERT_TRUE(client->MoveCursor(alice_, "c1", 7, 0, ReplyTo(2)).ok());
  ASSERT_TRUE(client->Group(alice_, group, ReplyTo(3)).ok());
  ASSERT_TRUE(client->MessageOp(alice_, op, ReplyTo(4)).ok());
  ASSERT_TRUE(client->Send(alice_, s2, ReplyTo(5)).ok());
  ASSERT_TRUE(silent_.WaitForEntries(5));                   // all written, none answered
  EXPECT_EQ(silent_.metadata("x-request-id").size(), 26u);  // a ULID
  EXPECT_TRUE(TraceParent::Parse(silent_.metadata("traceparent")).has_value());

  StopServer();
  Serve(service_.get());  // same port

  ASSERT_TRUE(messages_.WaitForCalls(3));
  ASSERT_TRUE(replies_.WaitFor(2));
  ASSERT_TRUE(Settled(*client));
  std::set<std::string> arrived;
  for (const auto& call : messages_.calls()) arrived.insert(call.key);
  EXPECT_EQ(arrived, (std::set<std::string>{"s1", "s2", "c1"}));
  auto answers = replies_.answers();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers.at(3).kind, CommandKind::kGroup);
  EXPECT_EQ(answers.at(3).status.code(), Code::kUnavailable);
  EXPECT_EQ(answers.at(4).kind, CommandKind::kMessageOp);
  EXPECT_EQ(answers.at(4).status.code(), Code::kUnavailable);
  EXPECT_GE(client->stats().streams_opened, 2u);
  EXPECT_FALSE(sleeper_.sleeps().empty());  // reopened after a backoff
}

TEST_F(RpcMessageOrchestrator, FullQueueRefusesAtOnceAndCloseAnswersWhatIsLeft) {
  // Nothing listens on the port: the stream cannot open, entries wait.
  MessageOrchestratorClientOptions o;
  o.max_queued = 3;
  auto client = Client(o);
  for (uint64_t session = 1; session <= 3; ++session) {
    pb::SendRequest request = SendOf("m" + std::to_string(session));
    ASSERT_TRUE(client->Send(alice_, request, ReplyTo(session)).ok());
  }
  pb::SendRequest one_more = SendOf("m4");
  Status full = client->Send(alice_, one_more, ReplyTo(4));
  EXPECT_EQ(full.code(), Code::kUnavailable);
  EXPECT_EQ(full.message(), "orchestrator queue full");
  EXPECT_EQ(replies_.size(), 0u);

  client->Close();
  auto answers = replies_.answers();
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& [session, answer] : answers) {
    EXPECT_EQ(answer.status.code(), Code::kUnavailable) << session;
    EXPECT_EQ(answer.kind, CommandKind::kSend);
  }
  EXPECT_EQ(client->Send(alice_, one_more, ReplyTo(5)).code(), Code::kUnavailable);
}

TEST_F(RpcMessageOrchestrator, UnansweredGroupOpTimesOutSendsWaitUntilGiveUp) {
  Serve(&silent_);
  MessageOrchestratorClientOptions o;
  o.give_up_ms = 30'000;
  auto client = Client(o);
  pb::GroupRequest group = GroupOf("g");
  pb::SendRequest send = SendOf("s");
  ASSERT_TRUE(client->Group(alice_, group, ReplyTo(1)).ok());
  ASSERT_TRUE(client->Send(alice_, send, ReplyTo(2)).ok());
  ASSERT_TRUE(silent_.WaitForEntries(2));

  clock_.Advance(options_.deadline_ms);
  ASSERT_TRUE(replies_.WaitFor(1));
  auto answers = replies_.answers();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers.at(1).kind, CommandKind::kGroup);
  EXPECT_EQ(answers.at(1).status.code(), Code::kUnavailable);
  EXPECT_NE(answers.at(1).status.message().find("deadline exceeded"), std::string::npos);

  clock_.Advance(o.give_up_ms - options_.deadline_ms);
  ASSERT_TRUE(replies_.WaitFor(2));
  EXPECT_EQ(replies_.answers().at(2).status.code(), Code::kUnavailable);
  EXPECT_EQ(client->stats().unanswered, 0u);
}

TEST_F(RpcMessageOrchestrator, ServerRefusesMalformedEntriesAndServesUnaryCalls) {
  Serve(service_.get());
  auto stub = mpb::MessageOrchestratorService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Submit(&context);
  mpb::SubmissionBatch batch;
  mpb::Submission* no_actor = batch.add_entries();
  no_actor->set_entry_id(1);
  *no_actor->mutable_send() = SendOf("x1");
  mpb::Submission* no_body = batch.add_entries();
  no_body->set_entry_id(2);
  no_body->mutable_actor()->set_tenant("t");
  no_body->mutable_actor()->set_user_id("alice");
  mpb::Submission* bad_actor = batch.add_entries();
  bad_actor->set_entry_id(3);
  bad_actor->mutable_actor()->set_user_id("alice");  // no tenant
  *bad_actor->mutable_send() = SendOf("x3");
  mpb::Submission* good = batch.add_entries();
  good->set_entry_id(4);
  *good->mutable_actor() = no_body->actor();
  *good->mutable_send() = SendOf("x4");
  ASSERT_TRUE(stream->Write(batch));
  mpb::AcceptedBatch answers;
  ASSERT_TRUE(stream->Read(&answers));
  ASSERT_EQ(answers.entries_size(), 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(answers.entries(i).entry_id(), uint64_t(i + 1));
    EXPECT_EQ(answers.entries(i).code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(answers.entries(i).message().empty());
  }
  EXPECT_EQ(answers.entries(3).code(), 0);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(messages_.calls().size(), 1u);
  EXPECT_EQ(messages_.calls()[0].key, "x4");

  mpb::SendCall call;
  *call.mutable_request() = SendOf("u1");
  call.mutable_reply()->set_session_id(9);
  mpb::Accepted accepted;
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub->Send(&anonymous, call, &accepted).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext named;
  named.AddMetadata("x-tenant-id", "t");
  named.AddMetadata("x-user-id", "alice");
  ASSERT_TRUE(stub->Send(&named, call, &accepted).ok());
  EXPECT_EQ(accepted.code(), 0);
  ASSERT_EQ(messages_.calls().size(), 2u);
  EXPECT_EQ(messages_.calls()[1].who.user_id, "alice");
  EXPECT_EQ(messages_.calls()[1].reply.session_id, 9u);
}

}  // namespace
}  // namespace flare
