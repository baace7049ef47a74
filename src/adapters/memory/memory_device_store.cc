#include "adapters/memory/memory_device_store.h"

namespace flare {

Status MemoryDeviceStore::Register(const PushDevice& device) {
  std::lock_guard lock(mu_);
  // One token, one device: the token leaves whichever device held it.
  for (auto& [user, devices] : devices_) {
    if (user.first != device.tenant) continue;
    std::erase_if(devices, [&, &user = user](const auto& entry) {  // clang 14: no bare binding
      const PushDevice& d = entry.second;
      return d.platform == device.platform && d.token == device.token &&
             !(user.second == device.user_id && d.device_id == device.device_id);
    });
  }
  PushDevice stored = device;
  stored.disabled = false;
  stored.disabled_reason.clear();
  devices_[{device.tenant, device.user_id}][device.device_id] = std::move(stored);
  return Status::Ok();
}

Status MemoryDeviceStore::Unregister(const std::string& tenant, const std::string& user_id,
                                     const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto it = devices_.find({tenant, user_id});
  if (it != devices_.end()) it->second.erase(device_id);
  return Status::Ok();
}

Result<std::vector<PushDevice>> MemoryDeviceStore::DevicesOf(const std::string& tenant,
                                                             std::span<const std::string> users) {
  std::lock_guard lock(mu_);
  std::vector<PushDevice> out;
  for (const auto& user : users) {
    auto it = devices_.find({tenant, user});
    if (it == devices_.end()) continue;
    for (const auto& [id, device] : it->second) out.push_back(device);
  }
  return out;
}

Status MemoryDeviceStore::DisableToken(const std::string& tenant, const std::string& platform,
                                       const std::string& token, const std::string& reason) {
  std::lock_guard lock(mu_);
  for (auto& [user, devices] : devices_) {
    if (user.first != tenant) continue;
    for (auto& [id, d] : devices) {
      if (d.platform == platform && d.token == token) {
        d.disabled = true;
        d.disabled_reason = reason;
      }
    }
  }
  return Status::Ok();
}

Status MemoryDeviceStore::SetMute(const std::string& tenant, const std::string& user_id,
                                  const std::string& conversation_id, int64_t until_ms) {
  std::lock_guard lock(mu_);
  auto& muted = preferences_[{tenant, user_id}].muted_until_ms;
  if (until_ms == 0) {
    muted.erase(conversation_id);
  } else {
    muted[conversation_id] = until_ms;
  }
  return Status::Ok();
}

Status MemoryDeviceStore::SetDoNotDisturb(const std::string& tenant, const std::string& user_id,
                                          const std::optional<DndWindow>& window) {
  std::lock_guard lock(mu_);
  preferences_[{tenant, user_id}].dnd = window;
  return Status::Ok();
}

Result<PushPreferences> MemoryDeviceStore::Preferences(const std::string& tenant,
                                                       const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = preferences_.find({tenant, user_id});
  if (it == preferences_.end()) return PushPreferences{};
  return it->second;
}

}  // namespace flare
