// In-process PresenceBus: Publish calls every listener on the caller's thread.
#pragma once

#include <map>
#include <mutex>

#include "ports/presence_bus.h"

namespace flare {

class MemoryPresenceBus final : public PresenceBus {
 public:
  Status Publish(const std::string& tenant, const std::string& user_id,
                 const std::string& payload) override;
  uint64_t AddListener(Listener listener) override;
  void RemoveListener(uint64_t id) override;

 private:
  std::mutex mu_;  // held while listeners run: RemoveListener waits for them
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_id_ = 1;
};

}  // namespace flare
