// SettingsStore in memory: one process's documents, for tests and
// storage.backend = memory.
#pragma once

#include <map>
#include <mutex>

#include "ports/settings_store.h"

namespace flare {

class MemorySettingsStore final : public SettingsStore {
 public:
  Result<VersionedDocument> Get(const std::string& key) override;
  Result<int64_t> Put(const std::string& key, int64_t expected_version,
                      const std::string& value) override;

 private:
  std::mutex mu_;
  std::map<std::string, VersionedDocument> documents_;
};

}  // namespace flare
