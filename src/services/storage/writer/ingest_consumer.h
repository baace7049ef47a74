// The storage writer's side of the ingest stream (cluster mode): one
// member of the writers' consumer group. It claims each partition it is
// assigned in the store (a new epoch, so a writer that lost the partition
// cannot commit for it any more), feeds the records to the StorageWriter
// in order, and commits a partition's offsets only once the writer reports
// the batches holding them durable and answered. When the store fences a
// batch (another writer owns one of its partitions) it leaves the group
// and joins again, so the stream redelivers everything after the last
// commit to whoever owns it now.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/metrics.h"
#include "ports/event_bus.h"
#include "ports/message_store.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct IngestConsumerOptions {
  std::string topic = "flare.ingest";
  std::string group = "flare-storage-writer";
  int max_poll_records = 2048;
  int poll_timeout_ms = 100;
  // Stream commands handed to the writer and not yet reported back: the
  // consumer stops polling above this (the writer's queue is the bound).
  size_t max_in_flight = 50'000;
  // Pause before leaving and joining the group again.
  int rejoin_backoff_ms = 200;
  // Set to the records not read yet of the partitions this member owns
  // (BusConsumer::Lag, summed) after every poll, and while the consumer
  // waits for room in flight, when not null.
  Gauge* lag_records = nullptr;
  // Set to the partitions this member has claimed, when not null.
  Gauge* partitions_owned = nullptr;
};

class IngestConsumer final : public BusConsumerListener {
 public:
  IngestConsumer(EventBus& bus, MessageStore& store, StorageWriter& writer, const Clock& clock,
                 IngestConsumerOptions options);
  ~IngestConsumer() override;

  // Joins the group and starts polling on a thread of its own.
  Status Start();
  // Leaves the group (uncommitted records go to the next owner).
  void Stop();

  // BusConsumerListener (on the polling thread).
  void OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions) override;

  // How often this member rejoined after a fenced batch.
  uint64_t rejoins() const { return rejoins_.load(); }
  // Records handed to the writer so far.
  uint64_t submitted() const { return submitted_.load(); }

 private:
  void OnProgress(const StreamProgress& progress);  // syncer thread
  void Run();
  Status Join();
  // Waits until there is room in flight, a commit to make or a rejoin due.
  void WaitForRoom();
  void CommitReported();
  void Rejoin();
  void ReportLag();
  void ReportOwned();
  // False when the writer cannot take it (stopping or failed).
  bool Submit(BusRecord& record);

  EventBus& bus_;
  MessageStore& store_;
  StorageWriter& writer_;
  const Clock& clock_;
  const IngestConsumerOptions options_;
  std::unique_ptr<BusConsumer> consumer_;  // polling thread only (after Start)
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> rejoins_{0};
  std::atomic<uint64_t> submitted_{0};
  // Grows with every assignment and every rejoin (see StreamPosition).
  std::atomic<uint64_t> generation_{1};

  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  std::map<int32_t, int64_t> to_commit_;  // partition -> next offset
  std::set<int32_t> owned_;               // claimed partitions (polling thread)
  bool rejoin_ = false;
};

}  // namespace flare
