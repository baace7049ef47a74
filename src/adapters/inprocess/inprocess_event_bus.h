// In-process EventBus: topics of N partitions in memory, consumer groups
// that spread partitions over their live consumers (partition p goes to the
// (p mod n)-th member in join order), committed offsets per group and
// redelivery from them when a partition changes owner. A partition moves
// only after its old owner released it (at its next Poll or Close), so no
// two consumers of a group ever hold the same partition; consumers that
// keep a partition get no callback for it (only what moves is revoked).
// Records below every group's committed offset are dropped.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ports/event_bus.h"

namespace flare {

struct InProcessHub;

// The partition of `key` in a topic of `partitions`: FNV-1a (32-bit) of the
// key bytes modulo the partition count.
int32_t InProcessPartitionFor(std::string_view key, int32_t partitions);

class InProcessEventBus final : public EventBus {
 public:
  InProcessEventBus();
  ~InProcessEventBus() override;

  Result<std::unique_ptr<BusProducer>> CreateProducer() override;
  using EventBus::CreateConsumer;
  Result<std::unique_ptr<BusConsumer>> CreateConsumer(const std::string& group_id,
                                                      const ConsumerOptions& options) override;
  Status CreateTopic(const std::string& name, int32_t partitions) override;

  // Records of `topic` still held in memory (not yet trimmed).
  size_t RetainedRecords(const std::string& topic) const;

 private:
  std::shared_ptr<InProcessHub> hub_;
};

}  // namespace flare
