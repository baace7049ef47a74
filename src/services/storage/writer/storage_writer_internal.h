// Internal to the storage writer: one group commit in the making.
#pragma once

#include <map>
#include <tuple>

#include "services/storage/writer/storage_writer.h"

namespace flare {

inline CommandOutcome Failed(CommandKind kind, Status status) {
  CommandOutcome o;
  o.kind = kind;
  o.status = std::move(status);
  return o;
}

struct StorageWriter::Staged {
  WriteBatch batch;
  std::vector<Audience> audiences;  // audiences[i] is batch.messages[i]'s
  struct Reply {
    Command* command;
    int message_index = -1;  // the stored message this reply reports, or -1
    CommandOutcome ready;    // the outcome when nothing is stored for it
  };
  std::vector<Reply> replies;
  std::map<std::tuple<std::string, std::string, std::string>, int> by_client_id;
  std::map<std::pair<std::string, int64_t>, int> updates;  // (conv key, seq) -> batch.updates
  std::vector<std::string> touched;  // conv keys whose caches are rolled back on failure
  std::vector<ReadMove> reads;
  // Messages stored earlier under the idempotency keys of this batch's
  // commands, looked up once for the whole batch.
  Status lookup_status;
  std::map<const Command*, Message> earlier;
  // Targets of the batch's message operations, read once per conversation.
  std::map<std::pair<std::string, int64_t>, Message> targets;  // (conv key, seq)

  // Sends whose message was moved into `batch` (at that index): staging a
  // send consumes it, so a batch staged again takes the messages back.
  // (A message op aimed at a send of the same batch changes that message in
  // place, so it comes back changed; its seq cannot be known before the
  // batch commits, so only a guessed seq does that.)
  std::vector<std::pair<SendCommand*, int>> taken_sends;

  void Reply(Command& command, CommandOutcome outcome) {
    replies.push_back({&command, -1, std::move(outcome)});
  }
  // Forgets what was staged, for the batch to be staged again from its
  // commands: each send gets its message back without what the writer
  // assigned (seq, time, server id). The partition claims the batch's
  // stream commands were admitted under (SetAsideUnowned) stay: without
  // them the store could not fence the second write.
  void StartOver() {
    for (auto [send, index] : taken_sends) {
      Message& m = batch.messages[index].message;
      m.clear_seq();
      m.clear_server_time_ms();
      m.clear_server_msg_id();
      send->message = std::move(m);
    }
    std::vector<PartitionClaim> claims = std::move(batch.claims);
    *this = Staged{};
    batch.claims = std::move(claims);
  }
};

// A committed batch on its way to the syncer thread.
struct StorageWriter::Batch {
  uint64_t id = 0;
  std::vector<Command> commands;
  // Stream commands of partitions this writer does not own (any more):
  // neither staged nor answered, only counted.
  std::vector<Command> unowned;
  Staged staged;        // points into `commands`
  bool fenced = false;  // the store refused it: a newer writer owns a partition
  Status written;
  int64_t started_ms = 0;
};

}  // namespace flare
