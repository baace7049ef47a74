// PushScheduleStore in memory: for tests and storage.backend = memory.
#pragma once

#include <map>
#include <mutex>
#include <utility>

#include "ports/push_schedule_store.h"

namespace flare {

class MemoryPushScheduleStore final : public PushScheduleStore {
 public:
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
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, StoredPushTemplate> templates_;
  // By (send_at_ms, push_id): earliest first.
  std::map<std::pair<int64_t, std::string>, StoredScheduledPush> scheduled_;
};

}  // namespace flare
