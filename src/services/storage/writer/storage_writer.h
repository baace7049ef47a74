// storage-writer: the sequencer. It owns every conversation's seq, turns
// queued sends into group-commit batches, and reports each stored message
// to the sender (ack) and to push-server (delivery) only after the batch is
// durable.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "ports/message_store.h"

namespace flare {

struct SendOutcome {
  Status status;
  Message message;  // the stored message (seq, server_msg_id set) when ok
  bool duplicate = false;
};

// Where a send's outcome goes back to (the sender's connection).
class SendCompletion {
 public:
  virtual ~SendCompletion() = default;
  virtual void OnSendDone(const std::string& request_id, const SendOutcome& outcome) = 0;
};

// Told of every newly stored message, after commit, in seq order per
// conversation.
class StoredListener {
 public:
  virtual ~StoredListener() = default;
  virtual void OnStored(const std::vector<StoredMessage>& messages) = 0;
};

struct IngestMessage {
  std::string tenant;
  Message message;                   // everything but seq, server_msg_id, server_time_ms
  std::vector<std::string> members;  // recorded as members when the conversation is new
  std::string request_id;
  std::shared_ptr<SendCompletion> origin;
  int64_t received_mono_ms = 0;
};

// The ingest stream's interface (in-process queue here; a Kafka topic keyed
// by conversation in cluster mode).
class MessageIngest {
 public:
  virtual ~MessageIngest() = default;
  // kUnavailable when the queue is full or the writer is stopping.
  virtual Status Submit(IngestMessage message) = 0;
  virtual Status SubmitCursor(CursorUpdate cursor) = 0;
};

struct StorageWriterOptions {
  size_t max_batch = 4096;
  size_t max_pending = 200'000;
};

class StorageWriter final : public MessageIngest {
 public:
  StorageWriter(MessageStore& store, const Clock& clock, StorageWriterOptions options,
                ServerMetrics* metrics);
  ~StorageWriter() override;

  void SetListener(StoredListener* listener) { listener_ = listener; }
  void Start();
  // Stops accepting, commits everything queued, then returns.
  void Stop();

  Status Submit(IngestMessage message) override;
  Status SubmitCursor(CursorUpdate cursor) override;

 private:
  struct Staged;  // one group commit in the making
  void Run();
  void CommitBatch(std::vector<IngestMessage>& sends, std::vector<CursorUpdate>& cursors);
  void StageSend(IngestMessage& send, Staged& staged);
  Result<int64_t> NextSeq(const std::string& conv_key, const std::string& tenant,
                          const std::string& conversation_id);

  MessageStore& store_;
  const Clock& clock_;
  StorageWriterOptions options_;
  ServerMetrics* metrics_;
  StoredListener* listener_ = nullptr;
  SystemRandom random_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IngestMessage> sends_;
  std::vector<CursorUpdate> cursors_;
  bool stopping_ = false;
  std::thread thread_;

  // Writer-thread state.
  std::unordered_map<std::string, int64_t> max_seq_;  // tenant '\n' conversation -> seq
  std::unordered_set<std::string> known_conversations_;
};

}  // namespace flare
