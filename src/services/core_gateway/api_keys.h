// API keys of business servers: per tenant, with scopes. Saved through the
// SettingsStore (one document, "api_keys", changed by compare-and-set) with
// only a SHA-256 of each secret, so neither the store nor a backup holds a
// usable key. A key reads "flk_<id>_<secret>": the id finds the record, the
// secret is compared in constant time. Every process re-reads the list at
// most every `reload_interval_ms` (so a revocation reaches every process
// within it), and at once, at most once a second, when a key's id is unknown
// (so a new key works at once).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "ports/settings_store.h"

namespace flare {

struct ApiKeyRecord {
  std::string id;
  std::string tenant;
  std::vector<std::string> scopes;  // "*" allows every scope
  std::string secret_sha256;        // hex
  int64_t created_ms = 0;
  int64_t revoked_ms = 0;  // 0: in use

  bool Allows(std::string_view scope) const;
};

struct CreatedApiKey {
  ApiKeyRecord record;
  std::string key;  // shown once: only its hash is kept
};

// The scopes an API key may carry.
const std::vector<std::string>& ApiKeyScopes();

class ApiKeys {
 public:
  ApiKeys(SettingsStore& store, const Clock& clock, int64_t reload_interval_ms)
      : store_(store), clock_(clock), reload_interval_ms_(reload_interval_ms) {}

  Result<CreatedApiKey> Create(const std::string& tenant, std::vector<std::string> scopes);
  // Unknown ids are NotFound; revoking twice is fine.
  Status Revoke(const std::string& id);
  // Every key (tenant empty) or a tenant's, revoked ones included.
  Result<std::vector<ApiKeyRecord>> List(const std::string& tenant);
  // The key's record if it is valid and not revoked; Unauthenticated otherwise.
  Result<ApiKeyRecord> Authenticate(std::string_view presented);

 private:
  using Records = std::vector<ApiKeyRecord>;
  struct Loaded {
    int64_t version = 0;
    std::shared_ptr<const Records> records;
  };
  Result<Loaded> Load();
  // Applies `change` to the saved list by compare-and-set, retried on a lost race.
  Status Update(const std::function<Status(Records&)>& change);
  std::shared_ptr<const Records> Current(bool id_unknown_before);

  SettingsStore& store_;
  const Clock& clock_;
  const int64_t reload_interval_ms_;
  std::mutex mu_;
  std::shared_ptr<const Records> cached_;
  int64_t loaded_at_ms_ = -1;
  int64_t forced_at_ms_ = -1;
};

}  // namespace flare
