// Reads the `[[hooks]]` array of tables (common/config.cc calls it; kept
// apart so that only the two config files include toml++).
#pragma once

#include <toml++/toml.h>

#include "common/hook_config.h"

namespace flare {

// Every `[[hooks]]` table of `node`, checked; an unknown key, a value of the
// wrong type or out of bounds is an error naming the hook and the key.
Result<std::vector<HookConfig>> ParseHookTables(const toml::node& node);

}  // namespace flare
