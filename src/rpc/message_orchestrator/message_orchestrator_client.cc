// The gateway's side of message.v1.MessageOrchestratorService: calls queue
// entries in a SubmitBook; a sender thread writes them in batches on one
// long-lived Submit stream, reopened with backoff when it breaks; a reader
// thread per stream settles entries as their acceptances arrive.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "message/v1/message_orchestrator.grpc.pb.h"
#include "rpc/common/call_metadata.h"
#include "rpc/message_orchestrator/message_orchestrator_grpc.h"
#include "rpc/message_orchestrator/submit_book.h"

namespace flare {
namespace {

namespace mpb = ::message::v1;
using mpb::MessageOrchestratorService;
using Stream = grpc::ClientReaderWriter<mpb::SubmissionBatch, mpb::AcceptedBatch>;

// How often, in real time, the sender looks for entries that waited too
// long (on the clock) when nothing else wakes it.
constexpr auto kSweepEvery = std::chrono::milliseconds(50);
constexpr int64_t kSweepStepMs = 10;

class MessageOrchestratorGrpcClient final : public MessageOrchestratorClient {
 public:
  MessageOrchestratorGrpcClient(std::shared_ptr<grpc::Channel> channel, const RpcOptions& options,
                                CommandReplies& replies, MessageOrchestratorClientOptions o)
      : channel_(std::move(channel)),
        stub_(MessageOrchestratorService::NewStub(channel_)),
        options_(options),
        o_(o),
        replies_(replies),
        clock_(o.seams.clock ? *o.seams.clock : SystemClock::Instance()),
        own_random_(o.seams.random ? nullptr : std::make_unique<SystemRandom>()),
        random_(o.seams.random ? *o.seams.random : *own_random_),
        sleeper_(o.seams.sleeper ? *o.seams.sleeper : interruptible_),
        book_(o.max_queued) {
    sender_ = std::thread([this] { RunSender(); });
  }

  ~MessageOrchestratorGrpcClient() override { Close(); }

  Status Send(const Principal& who, pb::SendRequest& request, ReplyAddress reply) override {
    rpc::SubmitEntry entry = NewEntry(CommandKind::kSend, who, std::move(reply));
    entry.submission.mutable_send()->Swap(&request);
    return Enqueue(std::move(entry));
  }

  Status Group(const Principal& who, pb::GroupRequest& request, ReplyAddress reply) override {
    rpc::SubmitEntry entry = NewEntry(CommandKind::kGroup, who, std::move(reply));
    entry.submission.mutable_group()->Swap(&request);
    return Enqueue(std::move(entry));
  }

  Status MessageOp(const Principal& who, pb::MessageOpRequest& request,
                   ReplyAddress reply) override {
    rpc::SubmitEntry entry = NewEntry(CommandKind::kMessageOp, who, std::move(reply));
    entry.submission.mutable_message_op()->Swap(&request);
    return Enqueue(std::move(entry));
  }

  Status MoveCursor(const Principal& who, const std::string& conversation_id, int64_t read_seq,
                    int64_t delivered_seq, ReplyAddress reply) override {
    rpc::SubmitEntry entry = NewEntry(CommandKind::kCursor, who, std::move(reply));
    mpb::CursorMove& move = *entry.submission.mutable_cursor();
    move.set_conversation_id(conversation_id);
    move.set_read_seq(read_seq);
    move.set_delivered_seq(delivered_seq);
    return Enqueue(std::move(entry));
  }

  void Close() override {
    std::lock_guard close_lock(close_mu_);
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      if (stream_context_) stream_context_->TryCancel();
    }
    cv_.notify_all();
    if (sender_.joinable()) sender_.join();
    std::vector<rpc::SubmitAnswer> answers;
    {
      std::lock_guard lock(mu_);
      answers = book_.TakeAll("the orchestrator client closed");
    }
    Deliver(answers);
  }

  SubmitStreamStats stats() const override {
    std::lock_guard lock(mu_);
    SubmitStreamStats out = stats_;
    out.unanswered = book_.size();
    return out;
  }

 private:
  // Waits that Close() cuts short, for when the seams bring no sleeper.
  class InterruptibleSleeper final : public Sleeper {
   public:
    explicit InterruptibleSleeper(MessageOrchestratorGrpcClient& client) : client_(client) {}
    void SleepMs(int64_t ms) override {
      std::unique_lock lock(client_.mu_);
      client_.cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return client_.closing_; });
    }

   private:
    MessageOrchestratorGrpcClient& client_;
  };

  rpc::SubmitEntry NewEntry(CommandKind kind, const Principal& who, ReplyAddress reply) const {
    rpc::SubmitEntry entry;
    entry.kind = kind;
    entry.queued_ms = clock_.MonotonicMs();
    mpb::Actor& actor = *entry.submission.mutable_actor();
    actor.set_tenant(who.tenant);
    actor.set_user_id(who.user_id);
    actor.set_device(who.device);
    actor.set_platform(who.platform);
    auto& address = *entry.submission.mutable_reply();
    address.set_gateway_id(reply.gateway_id);
    address.set_session_id(reply.session_id);
    address.set_request_id(reply.request_id);
    entry.reply = std::move(reply);
    return entry;
  }

  // Never waits for the network: the gateway calls this on I/O threads.
  // Wakes the sender only for what ends one of its waits (a first entry, a
  // full batch), not once per entry.
  Status Enqueue(rpc::SubmitEntry entry) {
    bool wake;
    {
      std::lock_guard lock(mu_);
      if (closing_) return Unavailable("the orchestrator client is closed");
      FLARE_RETURN_IF_ERROR(book_.Add(std::move(entry)));
      wake = book_.queued() == 1 || book_.queued() >= o_.max_batch;
    }
    if (wake) cv_.notify_all();
    return Status::Ok();
  }

  // Outcomes for sessions that wait for one (session 0: nobody does).
  void Deliver(const std::vector<rpc::SubmitAnswer>& answers) {
    for (const rpc::SubmitAnswer& answer : answers) {
      if (answer.reply.session_id != 0) replies_.OnCommandDone(answer.reply, answer.outcome);
    }
  }

  bool closing() {
    std::lock_guard lock(mu_);
    return closing_;
  }

  void RunSender() {
    int failures = 0;
    while (WaitForChannel()) {
      bool answered = RunStream();
      if (closing()) break;
      failures = answered ? 1 : failures + 1;
      int64_t backoff_ms = BackoffDelayMs(options_.retry, failures, random_);
      spdlog::debug("rpc message.v1.MessageOrchestratorService/Submit reopening in {} ms",
                    backoff_ms);
      sleeper_.SleepMs(backoff_ms);
    }
  }

  // Until the channel is connected (true) or the client closes (false):
  // opening a stream on a channel that is not would fail at once, again
  // and again, while gRPC waits out its own reconnection backoff.
  bool WaitForChannel() {
    while (!closing()) {
      Sweep();
      if (channel_->WaitForConnected(std::chrono::system_clock::now() + kSweepEvery)) return true;
    }
    return false;
  }

  // One stream, until it breaks or the client closes; whether any answer
  // came on it (then the stream worked and the backoff starts over).
  bool RunStream() {
    auto context = std::make_unique<grpc::ClientContext>();
    rpc::AttachCallMetadata(*context, Principal{}, NewStreamTrace());
    {
      std::lock_guard lock(mu_);
      if (closing_) return false;
      stream_context_ = context.get();
      stream_broken_ = false;
      ++stats_.streams_opened;
    }
    std::unique_ptr<Stream> stream = stub_->Submit(context.get());
    bool answered = false;
    std::thread reader([&] { answered = ReadAnswers(*stream); });
    WriteBatches(*stream);
    bool broken;
    {
      std::lock_guard lock(mu_);
      broken = stream_broken_;
    }
    // Ends the reader's Read if the stream still stands (a failed write,
    // closing); a stream the server ended keeps its own status.
    if (!broken) context->TryCancel();
    reader.join();
    grpc::Status status = stream->Finish();
    std::vector<rpc::SubmitAnswer> answers;
    {
      std::lock_guard lock(mu_);
      stream_context_ = nullptr;
      answers = book_.OnStreamBroken(
          "the stream to the orchestrator broke; the request may or may not have been applied");
      if (!closing_) {
        spdlog::warn(
            "rpc message.v1.MessageOrchestratorService/Submit broke: {} ({}); {} "
            "entr(ies) to resend, {} answered UNAVAILABLE",
            status.error_message(), static_cast<int>(status.error_code()), book_.size(),
            answers.size());
      }
    }
    Deliver(answers);
    return answered;
  }

  TraceContext NewStreamTrace() {
    TraceContext trace;
    trace.request_id = MakeUlid(clock_.NowMs(), random_);
    trace.traceparent = NewTrace(random_).ToString();
    return trace;
  }

  // Sender thread: one SubmissionBatch per drain of the queue.
  void WriteBatches(Stream& stream) {
    for (;;) {
      mpb::SubmissionBatch batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, kSweepEvery,
                     [&] { return closing_ || stream_broken_ || book_.HasQueued(); });
        if (closing_ || stream_broken_) return;
        Linger(lock);
        if (closing_ || stream_broken_) return;
        batch = book_.TakeBatch(o_.max_batch);
      }
      Sweep();
      if (batch.entries_size() == 0) continue;
      if (!stream.Write(batch)) return;
      std::lock_guard lock(mu_);
      ++stats_.batches_written;
      stats_.entries_written += batch.entries_size();
    }
  }

  // With entries queued: waits up to linger_us for a full batch, so one
  // stream message carries what arrives meanwhile. Only a full batch (which
  // Enqueue wakes the sender for), closing or a broken stream ends it early.
  void Linger(std::unique_lock<std::mutex>& lock) {
    if (o_.linger_us <= 0 || !book_.HasQueued()) return;
    cv_.wait_for(lock, std::chrono::microseconds(o_.linger_us),
                 [&] { return closing_ || stream_broken_ || book_.queued() >= o_.max_batch; });
  }

  // Reader thread: settles entries by their acceptances until the stream
  // ends, then wakes the sender.
  bool ReadAnswers(Stream& stream) {
    bool any = false;
    mpb::AcceptedBatch batch;
    std::vector<rpc::SubmitAnswer> refusals;
    while (stream.Read(&batch)) {
      any = true;
      refusals.clear();
      {
        std::lock_guard lock(mu_);
        for (const mpb::Accepted& accepted : batch.entries()) {
          std::optional<rpc::SubmitEntry> entry = book_.Settle(accepted.entry_id());
          if (!entry || accepted.code() == 0) continue;  // accepted: the writer answers it
          refusals.push_back(rpc::AnswerFor(*entry, Refusal(accepted)));
        }
      }
      Deliver(refusals);
    }
    {
      std::lock_guard lock(mu_);
      stream_broken_ = true;
    }
    cv_.notify_all();
    return any;
  }

  static Status Refusal(const mpb::Accepted& accepted) {
    Status status(rpc::FromGrpcCode(static_cast<grpc::StatusCode>(accepted.code())),
                  accepted.message());
    return accepted.error_code() != 0 ? std::move(status).WithDetail(accepted.error_code())
                                      : status;
  }

  // Answers entries that waited too long. A sweep scans the whole book, so
  // under load it runs at most once per kSweepStepMs of the clock.
  void Sweep() {
    std::vector<rpc::SubmitAnswer> answers;
    {
      std::lock_guard lock(mu_);
      int64_t now = clock_.MonotonicMs();
      if (now - last_sweep_ms_ < kSweepStepMs) return;
      last_sweep_ms_ = now;
      answers = book_.Expire(now, options_.deadline_ms, o_.give_up_ms);
    }
    Deliver(answers);
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<MessageOrchestratorService::Stub> stub_;
  RpcOptions options_;
  MessageOrchestratorClientOptions o_;
  CommandReplies& replies_;
  const Clock& clock_;
  std::unique_ptr<Random> own_random_;  // when the seams give none
  Random& random_;                      // sender thread only
  InterruptibleSleeper interruptible_{*this};
  Sleeper& sleeper_;

  std::mutex close_mu_;  // one Close at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  bool stream_broken_ = false;
  grpc::ClientContext* stream_context_ = nullptr;  // of the open stream, to cancel it
  rpc::SubmitBook book_;
  SubmitStreamStats stats_;
  int64_t last_sweep_ms_ = INT64_MIN / 2;
  std::thread sender_;  // last: started once everything above is built
};

}  // namespace

std::unique_ptr<MessageOrchestratorClient> NewMessageOrchestratorGrpcClient(
    std::shared_ptr<grpc::Channel> channel, const RpcOptions& options, CommandReplies& replies,
    MessageOrchestratorClientOptions o) {
  return std::make_unique<MessageOrchestratorGrpcClient>(std::move(channel), options, replies, o);
}

}  // namespace flare
