// In-memory GatewayDirectory (one process: embedded mode and tests); TTLs
// run on the given Clock (monotonic), so tests move time with a ManualClock.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "ports/gateway_directory.h"

namespace flare {

class MemoryGatewayDirectory final : public GatewayDirectory {
 public:
  explicit MemoryGatewayDirectory(const Clock& clock = SystemClock::Instance()) : clock_(clock) {}

  Status Announce(const std::string& gateway_id, const std::string& address,
                  int64_t ttl_ms) override;
  Result<std::string> Find(const std::string& gateway_id) override;
  Status Withdraw(const std::string& gateway_id) override;

 private:
  struct Entry {
    std::string address;
    int64_t expires_ms = 0;  // on clock_.MonotonicMs()
  };
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace flare
