// In-process PresenceBus: Publish calls every listener on the caller's thread.
#pragma once

#include "ports/presence_bus.h"

namespace flare {

class MemoryPresenceBus final : public PresenceBus {
 public:
  Status Publish(const std::string& tenant, const std::string& user_id,
                 const std::string& payload) override;
};

}  // namespace flare
