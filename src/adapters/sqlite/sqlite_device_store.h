// DeviceStore in SQLite: tables push_devices, push_mutes and push_dnd of a
// database file of their own (<data_dir>/devices.db in embedded mode), so
// that registrations never wait for the message store's write lock.
#pragma once

#include <memory>
#include <mutex>

#include "ports/device_store.h"

namespace flare {

namespace sqlite {
class Db;
}

class SqliteDeviceStore final : public DeviceStore {
 public:
  static Result<std::unique_ptr<SqliteDeviceStore>> Open(const std::string& path);
  ~SqliteDeviceStore() override;

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
  explicit SqliteDeviceStore(std::unique_ptr<sqlite::Db> db);
  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
