// Reads `[push.providers]` and `[push.tenants]` (common/config.cc calls it;
// kept apart so that only the config files include toml++).
#pragma once

#include <toml++/toml.h>

#include "common/push_config.h"

namespace flare {

// `node` is the table under push.providers (tenant "*") or push.tenants
// (one table per tenant); `key` is that key, for error messages.
Status ParsePushProviderTables(const std::string& key, const toml::node& node,
                               PushProvidersConfig& out);

}  // namespace flare
