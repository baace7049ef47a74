// DeviceStore in PostgreSQL: tables push_devices, push_mutes and push_dnd
// (schema migration 5). One connection behind a mutex (registrations and
// the hand-off's lookups are few next to messages); a call that finds it
// broken resets it and tries once more.
#pragma once

#include <memory>
#include <mutex>

#include "adapters/postgres/pg_conn.h"
#include "ports/device_store.h"

namespace flare {

class PostgresDeviceStore final : public DeviceStore {
 public:
  // Connects and applies pending schema migrations (as PostgresStore::Open).
  static Result<std::unique_ptr<PostgresDeviceStore>> Open(const std::string& dsn);

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
  PostgresDeviceStore(std::string server, pg::ConnPtr conn)
      : server_(std::move(server)), conn_(std::move(conn)) {}
  // One statement (or a script without params); mu_ held.
  Result<pg::ResultPtr> Run(const std::string& sql, const std::vector<std::string>& params);

  const std::string server_;
  std::mutex mu_;
  pg::ConnPtr conn_;
};

}  // namespace flare
