// Port: a partitioned, keyed event log with consumer groups (cluster mode's
// orchestrator -> storage-writer hop). Records with the same key go to the
// same partition and keep their publish order there. A consumer group
// spreads a topic's partitions over its live consumers; a consumer commits
// "processed up to offset N of partition P" explicitly, after its work is
// durable, and a partition that changes owner is redelivered from its last
// commit (at-least-once). Adapters: "inprocess" (one process) and "kafka".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace flare {

struct BusRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

class BusProducer {
 public:
  virtual ~BusProducer() = default;
  // Queues one record for the partition its key maps to. `done` is called
  // exactly once when the record is stored (Kafka: acknowledged by all
  // in-sync replicas) or has finally failed; inprocess calls it inside
  // Publish on the caller's thread, kafka on its delivery-report thread.
  // Retries never duplicate or reorder records of one producer. A non-OK
  // return means the record was not queued and `done` will not be called.
  virtual Status Publish(const std::string& topic, std::string_view key, std::string_view value,
                         std::function<void(Status)> done) = 0;
  // Waits until every queued record's `done` has been called;
  // kUnavailable if that did not happen within `timeout_ms`.
  virtual Status Flush(int timeout_ms) = 0;
};

// Called on the thread that calls BusConsumer::Poll (or Close): OnAssigned
// before the first record of a newly assigned partition is returned,
// OnRevoked after the last record of a partition that is taken away was
// returned. Work on a revoked partition that is not committed yet will be
// redelivered to its next owner, so commit (or drop) it in OnRevoked.
class BusConsumerListener {
 public:
  virtual ~BusConsumerListener() = default;
  virtual void OnAssigned(const std::vector<int32_t>& partitions) = 0;
  virtual void OnRevoked(const std::vector<int32_t>& partitions) = 0;
};

// One member of a consumer group; used from one thread at a time.
class BusConsumer {
 public:
  virtual ~BusConsumer() = default;
  // Joins the group on `topic` (once per consumer). `listener` must outlive
  // the consumer's Close().
  virtual Status Subscribe(const std::string& topic, BusConsumerListener* listener) = 0;
  // Up to `max_records` records, in offset order per partition; waits up
  // to `timeout_ms` for the first one (an empty vector is not an error).
  // Assignment changes are handled here, through the listener.
  virtual Result<std::vector<BusRecord>> Poll(int max_records, int timeout_ms) = 0;
  // Records that every record of `partition` below `next_offset` is
  // processed (Kafka's committed offset = next record to read). kAborted if
  // this consumer does not own the partition any more.
  virtual Status Commit(int32_t partition, int64_t next_offset) = 0;
  // How far behind this consumer is: for each partition it owns, the
  // records at the partition's end (Kafka: its high watermark) that Poll
  // has not returned yet. From what the consumer last learned (Kafka: its
  // latest fetch response; where reading starts in a partition nothing was
  // read from yet takes one round trip per assignment), so cheap after
  // every Poll; a partition whose end or read position is not known yet is
  // left out.
  virtual std::map<int32_t, int64_t> Lag() = 0;
  // Leaves the group (OnRevoked for what it owned) without committing;
  // uncommitted records go to the partitions' next owners. Idempotent.
  virtual Status Close() = 0;
};

struct ConsumerOptions {
  // Where a partition without a committed offset in the group starts: at
  // the oldest record still held (false), or at the partition's end as of
  // its assignment (true; Kafka's auto.offset.reset=latest), for a group
  // that wants only what is published from now on and not the history.
  bool start_at_latest = false;
};

class EventBus {
 public:
  virtual ~EventBus() = default;
  virtual Result<std::unique_ptr<BusProducer>> CreateProducer() = 0;
  virtual Result<std::unique_ptr<BusConsumer>> CreateConsumer(const std::string& group_id,
                                                              const ConsumerOptions& options) = 0;
  Result<std::unique_ptr<BusConsumer>> CreateConsumer(const std::string& group_id) {
    return CreateConsumer(group_id, ConsumerOptions{});
  }
  // kAlreadyExists if the topic exists.
  virtual Status CreateTopic(const std::string& name, int32_t partitions) = 0;
};

// CreateTopic that takes an existing topic as success.
inline Status CreateTopicIfMissing(EventBus& bus, const std::string& name, int32_t partitions) {
  Status st = bus.CreateTopic(name, partitions);
  return st.code() == Code::kAlreadyExists ? Status::Ok() : st;
}

// Builds the backend named by bus.backend ("inprocess" | "kafka"). For
// Kafka, a broker list that answers no metadata request within
// bus.kafka.startup_timeout_ms is kUnavailable naming bus.kafka.brokers.
Result<std::shared_ptr<EventBus>> OpenEventBus(const Config& config);

}  // namespace flare
