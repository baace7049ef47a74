#include "adapters/memory/memory_settings_store.h"

namespace flare {

Result<VersionedDocument> MemorySettingsStore::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = documents_.find(key);
  return it == documents_.end() ? VersionedDocument{} : it->second;
}

Result<int64_t> MemorySettingsStore::Put(const std::string& key, int64_t expected_version,
                                         const std::string& value) {
  std::lock_guard lock(mu_);
  auto it = documents_.find(key);
  int64_t stored = it == documents_.end() ? 0 : it->second.version;
  if (stored != expected_version) {
    return Aborted("settings '" + key + "' are at version " + std::to_string(stored) + ", not " +
                   std::to_string(expected_version));
  }
  documents_[key] = VersionedDocument{expected_version + 1, value};
  return expected_version + 1;
}

}  // namespace flare
