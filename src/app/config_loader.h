// Config for a subcommand: file, then FLARE_* environment, then --data-dir.
#pragma once

#include "app/commands.h"
#include "common/config.h"

namespace flare {

Result<Config> LoadCommandConfig(const CommonFlags& flags);

}  // namespace flare
