// DeviceStore in memory: for tests and storage.backend = memory.
#pragma once

#include <map>
#include <mutex>
#include <tuple>

#include "ports/device_store.h"

namespace flare {

class MemoryDeviceStore final : public DeviceStore {
 public:
  Status Register(const PushDevice& device) override;
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    const std::string& device_id) override;
  Result<std::vector<PushDevice>> DevicesOf(const std::string& tenant,
                                            std::span<const std::string> users) override;
  Status DisableToken(const std::string& tenant, const std::string& platform,
                      const std::string& token, const std::string& reason) override;
  Status SetMute(const std::string& tenant, const std::string& user_id,
                 const std::string& conversation_id, int64_t until_ms) override;
  Status SetDoNotDisturb(const std::string& tenant, const std::string& user_id,
                         const std::optional<DndWindow>& window) override;
  Result<PushPreferences> Preferences(const std::string& tenant,
                                      const std::string& user_id) override;

 private:
  using UserKey = std::pair<std::string, std::string>;  // tenant, user
  std::mutex mu_;
  // tenant, user -> device id -> device
  std::map<UserKey, std::map<std::string, PushDevice>> devices_;
  std::map<UserKey, PushPreferences> preferences_;
};

}  // namespace flare
