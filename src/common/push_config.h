// Push providers' endpoints and credentials: `[push.providers.<provider>]`
// holds the defaults every tenant uses ("*"), `[push.tenants.<tenant>.
// <provider>]` overrides keys of it for one tenant. Declared here because
// Config holds them; the providers (adapters/apns, adapters/fcm,
// adapters/push_webhook) give them meaning and check what they require.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

// key -> value as written (integers in decimal).
using PushProviderSettings = std::map<std::string, std::string>;

struct PushProvidersConfig {
  static constexpr const char* kDefaultTenant = "*";
  // tenant ("*" = every tenant) -> provider name -> settings.
  std::map<std::string, std::map<std::string, PushProviderSettings>> by_tenant;

  // `tenant`'s keys over the "*" ones; nullopt if neither has the provider.
  std::optional<PushProviderSettings> For(const std::string& tenant,
                                          const std::string& provider) const;
  // Tenants with a table of their own for `provider` ("*" not included).
  std::vector<std::string> TenantsOverriding(const std::string& provider) const;
};

// "apns", "fcm", "webhook".
const std::vector<std::string>& KnownPushProviders();
// The keys a provider's table may hold.
const std::vector<std::string>& PushProviderKeys(const std::string& provider);
// Unknown provider or key: InvalidArgument naming `where` and the key.
Status ValidatePushProviderTable(const std::string& where, const std::string& provider,
                                 const PushProviderSettings& settings);

}  // namespace flare
