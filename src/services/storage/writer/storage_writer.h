// storage-writer: the sequencer. It owns every conversation's seq and every
// group's state, turns queued commands (sends, group changes, message
// events, cursor moves) into group-commit batches, and reports each outcome
// to its origin and each stored message to push-server only after the
// batch is durable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/lru_map.h"
#include "common/metrics.h"
#include "common/mpsc_queue.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/message_events.h"
#include "services/session/group.h"
#include "services/storage/durable_fence.h"

namespace flare {

enum class CommandKind { kSend, kGroup, kMessageOp, kCursor };

struct CommandOutcome {
  CommandKind kind = CommandKind::kSend;
  Status status;
  bool duplicate = false;
  pb::GroupInfo group;  // for group commands
  // The stored message or event: `stored` points into the committed batch
  // (valid during OnCommandDone, so acks copy nothing); `message` holds
  // one found by idempotency.
  const Message* stored = nullptr;
  Message message;
  // A send refused by a pre-send hook: the hook's own code (status carries
  // ERROR_CODE_REJECTED_BY_HOOK and the hook's reason).
  int32_t hook_code = 0;
  const Message& result() const { return stored ? *stored : message; }
};

// Where a command's outcome goes back to: the connection that sent it. It
// is plain data, so a command can travel between processes and its answer
// still find the way (in cluster mode, to the gateway with that id).
struct ReplyAddress {
  std::string gateway_id;
  uint64_t session_id = 0;  // 0: nobody waits for the outcome
  std::string request_id;
};

// The HTTP API's commands are answered to its gateway's id with a request id
// that starts with \x01, which no client's request id can (they are
// printable ASCII): the gateway hands those outcomes to the API.
inline constexpr char kApiReplyMarker = '\x01';
inline bool IsApiReplyAddress(const ReplyAddress& to) {
  return !to.request_id.empty() && to.request_id[0] == kApiReplyMarker;
}

// Takes outcomes addressed to the sessions of one or more gateways (the
// gateway in embedded mode; a reply channel per gateway in cluster mode).
class CommandReplies {
 public:
  virtual ~CommandReplies() = default;
  virtual void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) = 0;
};

struct ReadMove {
  std::string tenant, conversation_id, user_id, device;
  int64_t seq = 0;
};

// The members a message is delivered to, shared by every message of a group
// until its membership changes. Null for 1:1 conversations.
using Audience = std::shared_ptr<const std::vector<std::string>>;

// A newly stored message as the pipeline hands it on after commit.
struct CommittedMessage {
  StoredMessage stored;
  Audience audience;
};

// Told of every newly stored message after commit, in seq order per
// conversation, and of read cursors that moved. The messages are the
// listener's to consume: nothing reads them afterwards.
class StoredListener {
 public:
  virtual ~StoredListener() = default;
  virtual void OnStored(std::vector<CommittedMessage>& messages) = 0;
  virtual void OnReadMoved(const std::vector<ReadMove>& moves) {}
};

struct SendCommand {
  Message message;                   // everything but seq, server_msg_id, server_time_ms
  std::vector<std::string> members;  // 1:1: recorded as members when the conversation is new
};
struct GroupCommand {
  pb::GroupRequest request;
};
struct MessageOpCommand {
  pb::MessageOpRequest request;
};
struct CursorCommand {
  CursorUpdate cursor;  // read_seq set: mark-read (clamped, announced); else delivered only
};

// Where a command came from on the ingest stream (cluster mode): its
// record's partition and offset, and the stream consumer's generation when
// it was read (it grows with every assignment and every rejoin).
// partition < 0: handed over in-process.
struct StreamPosition {
  int32_t partition = -1;
  int64_t offset = -1;
  uint64_t generation = 0;
};

struct Command {
  std::string tenant;
  std::string actor;
  std::string actor_device;
  std::variant<SendCommand, GroupCommand, MessageOpCommand, CursorCommand> body;
  ReplyAddress reply;
  StreamPosition source;
  int64_t received_mono_ms = 0;
  size_t queued_bytes = 0;  // set by Submit: what it counts against the queue's byte bound
};

// What a batch did with commands read from the ingest stream, told after
// the batch is durable and answered. `next_offsets`: per partition, every
// record below it is processed (safe to commit). `fenced`: the store
// refused the batch because another writer claimed one of its partitions;
// nothing of it was stored or answered, and every later command of the
// same generation is dropped unanswered: the consumer must rejoin so that
// the stream redelivers them from the last commit.
struct StreamProgress {
  uint64_t generation = 0;
  std::map<int32_t, int64_t> next_offsets;
  size_t commands = 0;  // stream commands this batch took (dropped ones too)
  bool fenced = false;
};
using StreamProgressHandler = std::function<void(const StreamProgress&)>;

// The ingest stream's interface (an in-process queue here; a Kafka topic
// keyed by conversation in cluster mode).
class MessageIngest {
 public:
  virtual ~MessageIngest() = default;
  // kUnavailable when the queue is full or the writer is stopping.
  virtual Status Submit(Command command) = 0;
};

// Called once when a committed batch could not be made durable. After a
// failed fsync the kernel may have dropped the pages and a later fsync can
// succeed without writing them, so nothing written since can be trusted:
// like PostgreSQL (data_sync_retry = off) the server must stop and recover
// from what is really on disk. The default logs and exits the process.
using StorageFatalHandler = std::function<void(const Status&)>;
void ExitOnStorageFailure(const Status& status);

struct StorageWriterOptions {
  size_t max_batch = 4096;
  size_t max_pending = 200'000;
  size_t max_pending_bytes = 256u << 20;  // queued commands, by their size
  // Writer caches, trimmed (least recently used first) between batches:
  // max seq and known 1:1 conversations, and group states (with members).
  size_t cached_conversations = 1'000'000;
  size_t cached_groups = 10'000;
  GroupLimits group_limits;
  MessageOpRules op_rules;
  StorageFatalHandler on_fatal = ExitOnStorageFailure;
};

class StorageWriter final : public MessageIngest {
 public:
  StorageWriter(MessageStore& messages, ConversationStore& conversations, const Clock& clock,
                StorageWriterOptions options, ServerMetrics* metrics);
  // Readers serve only what the fence lets through; without one, readers
  // may see a batch a moment before it is durable.
  void SetFence(DurableFence* fence) { fence_ = fence; }
  ~StorageWriter() override;

  void SetListener(StoredListener* listener) { listener_ = listener; }
  void SetReplies(CommandReplies* replies) { replies_ = replies; }
  void Start();
  // Stops accepting, commits everything queued, then returns.
  void Stop();

  Status Submit(Command command) override;

  // Ingest stream ownership (cluster mode; called by the stream consumer).
  // Commands of a claimed partition read at `since_generation` or later are
  // written with its epoch (see MessageStore::ClaimPartition); the others
  // (read before the claim, of a partition not claimed any more, or of a
  // generation that was fenced) are dropped unanswered: the partition's
  // owner answers them when the stream redelivers them from its last
  // commit. Every change of ownership drops the writer's cached state.
  void ClaimPartition(int32_t partition, int64_t epoch, uint64_t since_generation);
  void ReleasePartition(int32_t partition);
  // Called on the syncer thread after every batch that took stream commands.
  void SetStreamProgressHandler(StreamProgressHandler handler) {
    on_progress_ = std::move(handler);
  }
  // True once a batch could not be made durable: nothing is accepted after.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  struct Staged;
  struct Batch;
  void Run();
  void Checkpoint();  // between batches; observed when the store folded its log
  void RunSyncer();
  void Apply(Batch& batch);        // writer thread: stage and write
  void Dispatch(Batch& batch);     // syncer thread: after Sync, reply and push
  void MakeDurable(Batch& batch);  // syncer thread
  void HoldUntilDurable(Batch& batch);
  void Refuse(Batch& batch);  // answers every command UNAVAILABLE, writes nothing
  void ReleaseQueued(const Batch& batch);
  // storage_writer_claims.cc
  void SetAsideUnowned(Batch& batch);
  // Whether a failed batch's stream commands are better redelivered than
  // answered: fenced, or an outcome that may change on a retry.
  bool LeftToRedelivery(const Batch& batch) const;
  void OnFenced(Batch& batch);
  void ReportProgress(const Batch& batch);
  void DropCachesIfOwnershipChanged();
  // Stages the batch's commands and writes them. With `look_up_keys`
  // false it assumes every idempotency key is new and returns false,
  // having written nothing that stays, when that may be wrong (see
  // storage_writer_repeats.cc).
  bool StageAndWrite(Batch& batch, bool look_up_keys);
  void Unstage(Batch& batch);  // forgets what a batch staged and assumed
  void LookUpEarlier(std::vector<Command>& commands, Staged& staged);
  bool RefusedRepeatsPossible(const Staged& staged);
  // Reads the max seq of every conversation the batch appends to that is
  // not cached, in one store call (after an assignment the cache is empty).
  void PrefetchMaxSeqs(const std::vector<Command>& commands);
  void FetchTargets(const std::vector<Command>& commands, Staged& staged);
  void Stage(Command& command, Staged& staged);
  void StageSend(Command& command, SendCommand& send, Staged& staged);
  void StageGroup(Command& command, GroupCommand& group, Staged& staged);
  template <typename Same, typename Make>
  bool AnswerRepeat(Command& command, CommandKind kind, const std::string& sender,
                    const std::string& key, Staged& staged, Same same, Make make);
  bool AnswerRepeatedSend(Command& command, const Message& m, Staged& staged);
  bool AnswerRepeatedGroupOp(Command& command, const pb::GroupRequest& request, Staged& staged);
  bool AnswerRepeatedMessageOp(Command& command, const pb::MessageOpRequest& request,
                               Staged& staged);
  void StageMessageOp(Command& command, MessageOpCommand& op, Staged& staged);
  void StageCursor(Command& command, CursorCommand& cursor, Staged& staged);
  // Appends an event or message with the next seq; returns its batch index.
  // `message` is moved from only when it is appended.
  Result<int> AppendMessage(const std::string& tenant, Message&& message, Staged& staged,
                            Audience audience);
  void Answer(const Command& command, const CommandOutcome& outcome);
  Result<int64_t> NextSeq(const std::string& tenant, const std::string& conversation_id,
                          Staged& staged);
  Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id);
  Result<GroupState*> LoadGroup(const std::string& tenant, const std::string& conversation_id);
  Result<Message*> FindTarget(const std::string& tenant, const std::string& conversation_id,
                              int64_t seq, Staged& staged);
  void RecordMembers(const std::string& tenant, const std::string& conversation_id,
                     GroupState& state, const GroupChange& change, int64_t event_seq,
                     Staged& staged);

  MessageStore& messages_;
  ConversationStore& conversations_;
  const Clock& clock_;
  StorageWriterOptions options_;
  ServerMetrics* metrics_;
  StoredListener* listener_ = nullptr;
  CommandReplies* replies_ = nullptr;
  DurableFence* fence_ = nullptr;
  SystemRandom random_;
  std::atomic<bool> failed_{false};
  uint64_t next_batch_id_ = 0;  // writer thread

  MpscQueue<Command> queue_;  // producers take no lock
  std::thread thread_;

  // Committed batches waiting for their sync: the writer applies batch k+1
  // while the syncer makes batch k durable (bounded: 2 in flight).
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<std::unique_ptr<Batch>> to_sync_;
  bool writer_done_ = false;
  std::thread syncer_;

  // Writer-thread state, keyed by tenant '\n' conversation. A group that
  // does not exist is cached too (null), so a stream of sends to it costs
  // one storage read.
  LruMap<int64_t> max_seq_;
  LruMap<bool> known_singles_;
  LruMap<std::unique_ptr<GroupState>> groups_;
  std::atomic<size_t> pending_bytes_{0};

  // Ingest stream ownership (storage_writer_claims.cc).
  std::mutex claims_mu_;
  struct Claim {
    int64_t epoch = 0;
    uint64_t since_generation = 0;
  };
  std::unordered_map<int32_t, Claim> claims_;
  bool any_fenced_ = false;
  uint64_t fenced_generation_ = 0;  // writer thread: generations <= it are dropped
  std::atomic<bool> ownership_changed_{false};
  StreamProgressHandler on_progress_;
};

}  // namespace flare
