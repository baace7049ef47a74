// message-orchestrator over gRPC (message.v1.MessageOrchestratorService):
// the server adapter that serves any MessageService, and the client a
// signaling gateway uses instead of a local orchestrator. No gRPC in this
// header: wiring includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "rpc/common/rpc_options.h"
#include "rpc/common/rpc_server.h"
#include "services/message_orchestrator/message_orchestrator.h"

namespace flare {

// Serves `messages` (which must outlive the service): the Submit stream of
// a gateway (each entry names its own actor) and the unary calls (identity
// in metadata). Each entry is answered accepted or refused with the
// validation's code; outcomes travel later by other paths.
RpcServicePtr NewMessageOrchestratorGrpcService(MessageService& messages);

struct MessageOrchestratorClientOptions {
  // Entries not yet answered (queued or sent): beyond it a call is refused
  // UNAVAILABLE at once.
  size_t max_queued = 10'000;
  size_t max_batch = 512;  // entries per stream message
  // How long the sender holds the first entry queued for more to join its
  // batch (until max_batch are queued); 0 = write at once. In real time:
  // a linger far below any timeout, not worth a clock seam.
  int64_t linger_us = 0;
  // How long an idempotent entry (send, cursor) is resent across broken
  // streams before it is answered UNAVAILABLE.
  int64_t give_up_ms = 30'000;
  // Backoff between stream openings; waits and timeouts on `clock`. Without
  // a sleeper the client waits in a way Close() interrupts.
  RpcSeams seams;
};

// What the client did, for tests and metrics.
struct SubmitStreamStats {
  uint64_t streams_opened = 0;
  uint64_t batches_written = 0;  // stream messages
  uint64_t entries_written = 0;  // resends included
  size_t unanswered = 0;         // entries queued or sent, not answered yet
};

// A MessageService whose calls never wait for the network: each queues a
// submission and returns; one stream to the orchestrator carries them in
// batches. A refusal (and anything that cannot be delivered) is answered
// through the CommandReplies given, as an outcome of the entry's kind; an
// accepted entry's outcome comes from the storage writer.
class MessageOrchestratorClient : public MessageService {
 public:
  // Stops the stream and its threads and answers every entry still
  // unanswered UNAVAILABLE. Later calls are refused UNAVAILABLE. Idempotent;
  // the destructor calls it.
  virtual void Close() = 0;
  virtual SubmitStreamStats stats() const = 0;
};

// `replies` must outlive the client; it is called from the client's
// threads (and from Close()).
std::unique_ptr<MessageOrchestratorClient> NewMessageOrchestratorGrpcClient(
    std::shared_ptr<grpc::Channel> channel, const RpcOptions& options, CommandReplies& replies,
    MessageOrchestratorClientOptions o = {});

}  // namespace flare
