// hooks.v1 messages <-> the hook engine's types, for the gRPC admin API and
// the HTTP API (which speaks the same messages as JSON).
#pragma once

#include <string>

#include "common/hook_config.h"
#include "hooks/v1/hooks.pb.h"
#include "services/hooks/hook_stats.h"

namespace flare {

HookConfig FromSpec(const ::hooks::v1::HookSpec& spec);
// Without the secret: an admin reading the list need not learn it.
::hooks::v1::HookSpec ToSpec(const HookConfig& h);
void FillStatistics(const std::string& name, const HookStats& stats,
                    ::hooks::v1::HookStatistics& out);

}  // namespace flare
