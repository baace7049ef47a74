#include "adapters/memory/memory_push_schedule_store.h"

namespace flare {

Status MemoryPushScheduleStore::PutTemplate(const StoredPushTemplate& t) {
  std::lock_guard lock(mu_);
  templates_[{t.tenant, t.name}] = t;
  return Status::Ok();
}

Status MemoryPushScheduleStore::DeleteTemplate(const std::string& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  if (templates_.erase({tenant, name}) == 0) return NotFound("no template " + name);
  return Status::Ok();
}

Result<std::optional<StoredPushTemplate>> MemoryPushScheduleStore::GetTemplate(
    const std::string& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = templates_.find({tenant, name});
  if (it == templates_.end()) return std::optional<StoredPushTemplate>();
  return std::optional<StoredPushTemplate>(it->second);
}

Result<std::vector<StoredPushTemplate>> MemoryPushScheduleStore::ListTemplates(
    const std::string& tenant) {
  std::lock_guard lock(mu_);
  std::vector<StoredPushTemplate> out;
  for (auto it = templates_.lower_bound({tenant, ""});
       it != templates_.end() && it->first.first == tenant; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Status MemoryPushScheduleStore::AddScheduled(const StoredScheduledPush& push) {
  std::lock_guard lock(mu_);
  scheduled_[{push.send_at_ms, push.push_id}] = push;
  return Status::Ok();
}

Status MemoryPushScheduleStore::RemoveScheduled(const std::string& tenant,
                                                const std::string& push_id) {
  std::lock_guard lock(mu_);
  for (auto it = scheduled_.begin(); it != scheduled_.end(); ++it) {
    if (it->second.push_id == push_id && it->second.tenant == tenant) {
      scheduled_.erase(it);
      return Status::Ok();
    }
  }
  return NotFound("no scheduled push " + push_id);
}

Result<std::vector<StoredScheduledPush>> MemoryPushScheduleStore::Due(int64_t now_ms,
                                                                      size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<StoredScheduledPush> out;
  for (auto it = scheduled_.begin();
       it != scheduled_.end() && it->first.first <= now_ms && out.size() < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<StoredScheduledPush>> MemoryPushScheduleStore::ListScheduled(
    const std::string& tenant) {
  std::lock_guard lock(mu_);
  std::vector<StoredScheduledPush> out;
  for (const auto& [key, push] : scheduled_) {
    if (push.tenant == tenant) out.push_back(push);
  }
  return out;
}

}  // namespace flare
