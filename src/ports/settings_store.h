// Port: small versioned documents shared by every process of a deployment
// (today the hook list the admin API edits; services/hooks/hook_settings.h).
// Writes are compare-and-set on the document's version, so two processes
// saving at once cannot lose each other's change: the second is told to
// read again.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace flare {

struct VersionedDocument {
  int64_t version = 0;  // 0: never saved (value empty)
  std::string value;    // any bytes
};

class SettingsStore {
 public:
  virtual ~SettingsStore() = default;
  // The document under `key`; version 0 when none was ever saved.
  virtual Result<VersionedDocument> Get(const std::string& key) = 0;
  // Saves `value` if the stored version is still `expected_version` (0:
  // none saved yet) and returns the new version (expected_version + 1);
  // kAborted when another writer saved first (nothing changed then).
  virtual Result<int64_t> Put(const std::string& key, int64_t expected_version,
                              const std::string& value) = 0;
};

}  // namespace flare
