// Port: what push-proxy keeps between calls: each tenant's push templates
// and the pushes scheduled for later. Read and written by PushApi only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct StoredPushTemplate {
  std::string tenant;
  std::string name;
  std::string title;
  std::string body;
  int64_t updated_ms = 0;
};

struct StoredScheduledPush {
  std::string push_id;  // unique over all tenants (a ULID)
  std::string tenant;
  int64_t send_at_ms = 0;
  std::string request;  // a serialized push.v1.PushRequest
  int64_t created_ms = 0;
};

class PushScheduleStore {
 public:
  virtual ~PushScheduleStore() = default;
  // Inserts or replaces (tenant, name).
  virtual Status PutTemplate(const StoredPushTemplate& t) = 0;
  // NotFound when there is none.
  virtual Status DeleteTemplate(const std::string& tenant, const std::string& name) = 0;
  virtual Result<std::optional<StoredPushTemplate>> GetTemplate(const std::string& tenant,
                                                                const std::string& name) = 0;
  virtual Result<std::vector<StoredPushTemplate>> ListTemplates(const std::string& tenant) = 0;

  virtual Status AddScheduled(const StoredScheduledPush& push) = 0;
  // Removes a push of `tenant`; NotFound when it is not (or no longer) there.
  virtual Status RemoveScheduled(const std::string& tenant, const std::string& push_id) = 0;
  // Pushes of every tenant with send_at_ms <= now_ms, earliest first, at
  // most `limit`. They stay until removed: a push fires at least once.
  virtual Result<std::vector<StoredScheduledPush>> Due(int64_t now_ms, size_t limit) = 0;
  // The pending pushes of `tenant`, earliest first.
  virtual Result<std::vector<StoredScheduledPush>> ListScheduled(const std::string& tenant) = 0;
};

}  // namespace flare
