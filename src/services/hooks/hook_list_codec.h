// The hook list as a settings document (services/hooks/hook_settings.h):
// JSON {"hooks": [{...}, ...]}, one object per hook with the keys of a
// [[hooks]] table (common/hook_config.h), in the order listed. Every field
// of HookConfig round-trips, the secret included (the document is as
// sensitive as the config file).
#pragma once

#include <string>
#include <vector>

#include "common/hook_config.h"
#include "common/result.h"

namespace flare {

std::string EncodeHookList(const std::vector<HookConfig>& hooks);

// InvalidArgument naming what is wrong (not JSON, a missing "hooks" array,
// an unknown key, a value of the wrong type); never throws. A key left out
// takes HookConfig's default. The hooks are not validated here
// (ValidateHooks is).
Result<std::vector<HookConfig>> DecodeHookList(const std::string& document);

}  // namespace flare
