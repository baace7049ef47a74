// Logging setup over spdlog: text or one JSON object per line.
#pragma once

#include <string>

#include "common/result.h"

namespace flare {

Status SetupLogging(const std::string& level, const std::string& format);

}  // namespace flare
