// Test support: a DeviceStore in memory, for push-worker's tests until the
// device store of the push-server work is merged (then drop this file and
// use that one).
#pragma once

#include <map>
#include <mutex>
#include <tuple>

#include "ports/device_store.h"

namespace flare::testing {

class MemoryDeviceStore final : public DeviceStore {
 public:
  Status Register(const PushDevice& device) override {
    std::lock_guard lock(mu_);
    PushDevice d = device;
    d.disabled = false;
    d.disabled_reason.clear();
    devices_[{d.tenant, d.user_id, d.device_id}] = d;
    return Status::Ok();
  }
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    const std::string& device_id) override {
    std::lock_guard lock(mu_);
    devices_.erase({tenant, user_id, device_id});
    return Status::Ok();
  }
  Result<std::vector<PushDevice>> DevicesOf(const std::string& tenant,
                                            std::span<const std::string> users) override {
    std::lock_guard lock(mu_);
    std::vector<PushDevice> out;
    for (const auto& [key, d] : devices_) {
      for (const auto& u : users) {
        if (d.tenant == tenant && d.user_id == u) out.push_back(d);
      }
    }
    return out;
  }
  Status DisableToken(const std::string& tenant, const std::string& platform,
                      const std::string& token, const std::string& reason) override {
    std::lock_guard lock(mu_);
    for (auto& [key, d] : devices_) {
      if (d.tenant == tenant && d.platform == platform && d.token == token) {
        d.disabled = true;
        d.disabled_reason = reason;
      }
    }
    return Status::Ok();
  }
  Status SetMute(const std::string&, const std::string&, const std::string&, int64_t) override {
    return Status::Ok();
  }
  Status SetDoNotDisturb(const std::string&, const std::string&,
                         const std::optional<DndWindow>&) override {
    return Status::Ok();
  }
  Result<PushPreferences> Preferences(const std::string&, const std::string&) override {
    return PushPreferences{};
  }
  // The device, or a default one (device_id empty) if unknown.
  PushDevice Get(const std::string& tenant, const std::string& user_id,
                 const std::string& device_id) const {
    std::lock_guard lock(mu_);
    auto it = devices_.find({tenant, user_id, device_id});
    return it == devices_.end() ? PushDevice{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, PushDevice> devices_;
};

}  // namespace flare::testing
