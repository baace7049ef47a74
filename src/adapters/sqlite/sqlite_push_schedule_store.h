// PushScheduleStore in SQLite: tables push_templates and scheduled_pushes
// of their own database file (<data_dir>/push.db in embedded mode), apart
// from the message store's writer.
#pragma once

#include <memory>
#include <mutex>

#include "ports/push_schedule_store.h"

namespace flare {

namespace sqlite {
class Db;
}

class SqlitePushScheduleStore final : public PushScheduleStore {
 public:
  static Result<std::unique_ptr<SqlitePushScheduleStore>> Open(const std::string& path);
  ~SqlitePushScheduleStore() override;
  Status PutTemplate(const StoredPushTemplate& t) override;
  Status DeleteTemplate(const std::string& tenant, const std::string& name) override;
  Result<std::optional<StoredPushTemplate>> GetTemplate(const std::string& tenant,
                                                        const std::string& name) override;
  Result<std::vector<StoredPushTemplate>> ListTemplates(const std::string& tenant) override;
  Status AddScheduled(const StoredScheduledPush& push) override;
  Status RemoveScheduled(const std::string& tenant, const std::string& push_id) override;
  Result<std::vector<StoredScheduledPush>> Due(int64_t now_ms, size_t limit) override;
  Result<std::vector<StoredScheduledPush>> ListScheduled(const std::string& tenant) override;

 private:
  explicit SqlitePushScheduleStore(std::unique_ptr<sqlite::Db> db);
  Result<std::vector<StoredPushTemplate>> Templates(const char* sql, const std::string& tenant,
                                                    const std::string& name);
  Status Removed(const char* sql, const std::string& a, const std::string& b,
                 const std::string& what);
  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace flare
