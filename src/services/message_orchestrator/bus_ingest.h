// The orchestrator's side of the ingest stream in cluster mode: commands
// go onto the bus keyed by their conversation (so one storage writer sees
// each conversation's commands in order). A command the bus could not take
// is answered UNAVAILABLE at its reply address; one it took is answered by
// the storage writer that owns its partition.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "ports/event_bus.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

class BusIngest final : public MessageIngest {
 public:
  // `replies` answers commands that never reached the bus.
  BusIngest(std::unique_ptr<BusProducer> producer, std::string topic, CommandReplies& replies)
      : producer_(std::move(producer)), topic_(std::move(topic)), replies_(replies) {}

  Status Submit(Command command) override;
  // Waits for every published command's acknowledgement (at shutdown).
  Status Flush(int timeout_ms);
  // Waits up to `timeout_ms` for acknowledgements, then drops the producer:
  // commands not acknowledged by then are answered UNAVAILABLE now (the
  // replies must still be alive), and later Submits are refused.
  void Close(int timeout_ms);

 private:
  std::shared_mutex mu_;  // Submits share it; Close takes it alone
  std::unique_ptr<BusProducer> producer_;
  const std::string topic_;
  CommandReplies& replies_;
};

}  // namespace flare
