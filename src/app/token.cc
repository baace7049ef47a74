#include <cstdio>

#include "app/commands.h"
#include "app/config_loader.h"

namespace flare {

int RunToken(const TokenFlags& flags) {
  auto config = LoadCommandConfig(flags.common);
  if (!config.ok()) {
    std::fprintf(stderr, "flare: %s\n", config.status().message().c_str());
    return 2;
  }
  auto token =
      flags.admin ? IssueAdminToken(*config, flags.tenant, flags.ttl_s)
                  : IssueToken(*config, {flags.tenant, flags.user, flags.device, flags.platform, 0},
                               flags.ttl_s);
  if (!token.ok()) {
    std::fprintf(stderr, "flare: %s\n", token.status().message().c_str());
    return 2;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace flare
