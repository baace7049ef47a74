// storage-writer: the sequencer. It owns every conversation's seq and every
// group's state, turns queued commands (sends, group changes, message
// events, cursor moves) into group-commit batches, and reports each outcome
// to its origin and each stored message to push-server only after the
// batch is durable.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
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
#include "common/metrics.h"
#include "common/mpsc_queue.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/message_events.h"
#include "services/session/group.h"

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
  const Message& result() const { return stored ? *stored : message; }
};

// Where a command's outcome goes back to (the sender's connection).
class CommandCompletion {
 public:
  virtual ~CommandCompletion() = default;
  virtual void OnCommandDone(const std::string& request_id, const CommandOutcome& outcome) = 0;
};

struct ReadMove {
  std::string tenant, conversation_id, user_id, device;
  int64_t seq = 0;
};

// Told of every newly stored message after commit, in seq order per
// conversation, and of read cursors that moved. The messages are the
// listener's to consume: nothing reads them afterwards.
class StoredListener {
 public:
  virtual ~StoredListener() = default;
  virtual void OnStored(std::vector<StoredMessage>& messages) = 0;
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

struct Command {
  std::string tenant;
  std::string actor;
  std::string actor_device;
  std::variant<SendCommand, GroupCommand, MessageOpCommand, CursorCommand> body;
  std::string request_id;
  std::shared_ptr<CommandCompletion> origin;  // may be null
  int64_t received_mono_ms = 0;
};

// The ingest stream's interface (an in-process queue here; a Kafka topic
// keyed by conversation in cluster mode).
class MessageIngest {
 public:
  virtual ~MessageIngest() = default;
  // kUnavailable when the queue is full or the writer is stopping.
  virtual Status Submit(Command command) = 0;
};

struct StorageWriterOptions {
  size_t max_batch = 4096;
  size_t max_pending = 200'000;
  GroupLimits group_limits;
  MessageOpRules op_rules;
};

class StorageWriter final : public MessageIngest {
 public:
  StorageWriter(MessageStore& messages, ConversationStore& conversations, const Clock& clock,
                StorageWriterOptions options, ServerMetrics* metrics);
  ~StorageWriter() override;

  void SetListener(StoredListener* listener) { listener_ = listener; }
  void Start();
  // Stops accepting, commits everything queued, then returns.
  void Stop();

  Status Submit(Command command) override;

 private:
  struct Staged;
  struct Batch;
  void Run();
  void RunSyncer();
  void Apply(Batch& batch);     // writer thread: stage and write
  void Dispatch(Batch& batch);  // syncer thread: after Sync, reply and push
  void LookUpEarlier(std::vector<Command>& commands, Staged& staged);
  void Stage(Command& command, Staged& staged);
  void StageSend(Command& command, SendCommand& send, Staged& staged);
  void StageGroup(Command& command, GroupCommand& group, Staged& staged);
  void StageMessageOp(Command& command, MessageOpCommand& op, Staged& staged);
  void StageCursor(Command& command, CursorCommand& cursor, Staged& staged);
  // Appends an event or message with the next seq; returns its batch index.
  Result<int> AppendMessage(const std::string& tenant, Message message, Staged& staged,
                            std::shared_ptr<const std::vector<std::string>> audience);
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
  SystemRandom random_;

  MpscQueue<Command> queue_;  // producers take no lock
  std::thread thread_;

  // Committed batches waiting for their sync: the writer applies batch k+1
  // while the syncer makes batch k durable (bounded: 2 in flight).
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<std::unique_ptr<Batch>> to_sync_;
  bool writer_done_ = false;
  std::thread syncer_;

  // Writer-thread state, keyed by tenant '\n' conversation.
  std::unordered_map<std::string, int64_t> max_seq_;
  std::unordered_set<std::string> known_singles_;
  std::unordered_map<std::string, std::unique_ptr<GroupState>> groups_;
};

std::string ConversationKey(const std::string& tenant, const std::string& conversation_id);

}  // namespace flare
