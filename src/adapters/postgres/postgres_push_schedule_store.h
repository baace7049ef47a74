// PushScheduleStore in PostgreSQL: tables push_templates and
// scheduled_pushes (schema migration 6). One connection behind a mutex
// (template writes and the scheduler's rounds are few); a call that finds
// it broken resets it and tries once more.
#pragma once

#include <memory>
#include <mutex>

#include "adapters/postgres/pg_conn.h"
#include "ports/push_schedule_store.h"

namespace flare {

class PostgresPushScheduleStore final : public PushScheduleStore {
 public:
  // Connects and applies pending schema migrations (as PostgresStore::Open).
  static Result<std::unique_ptr<PostgresPushScheduleStore>> Open(const std::string& dsn);

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
  PostgresPushScheduleStore(std::string server, pg::ConnPtr conn)
      : server_(std::move(server)), conn_(std::move(conn)) {}
  Result<pg::ResultPtr> Run(const std::string& sql, const std::vector<std::string>& params);
  // A DELETE's Status: NotFound (`what`) when it removed no row.
  Status Deleted(const std::string& sql, const std::vector<std::string>& params,
                 const std::string& what);
  Result<std::vector<StoredPushTemplate>> Templates(const std::string& sql,
                                                    const std::vector<std::string>& params);
  Result<std::vector<StoredScheduledPush>> Scheduled(const std::string& sql,
                                                     const std::vector<std::string>& params);

  const std::string server_;
  std::mutex mu_;
  pg::ConnPtr conn_;
};

}  // namespace flare
