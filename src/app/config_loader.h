// Config for a subcommand: file, then FLARE_* environment, then --data-dir.
#pragma once

#include "app/commands.h"
#include "common/config.h"
#include "services/signaling/online/token.h"

namespace flare {

Result<Config> LoadCommandConfig(const CommonFlags& flags);

// A login token for `who`, signed with the secret `config` names (or the
// one generated in its data dir); ttl_s 0 means auth.token_ttl_s.
Result<std::string> IssueToken(const Config& config, const Principal& who, int64_t ttl_s);
// An admin token for the HTTP API of `tenant` ("*": every tenant).
Result<std::string> IssueAdminToken(const Config& config, const std::string& tenant, int64_t ttl_s);

}  // namespace flare
