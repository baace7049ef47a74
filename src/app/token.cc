#include <chrono>
#include <cstdio>

#include "app/commands.h"
#include "app/config_loader.h"
#include "services/signaling/online/token.h"

namespace flare {

int RunToken(const TokenFlags& flags) {
  auto config = LoadCommandConfig(flags.common);
  if (!config.ok()) {
    std::fprintf(stderr, "flare: %s\n", config.status().message().c_str());
    return 2;
  }
  auto secret = ResolveJwtSecret(*config);
  if (!secret.ok()) {
    std::fprintf(stderr, "flare: %s\n", secret.status().message().c_str());
    return 1;
  }
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  Principal who{flags.tenant, flags.user, flags.device, flags.platform, 0};
  auto token = TokenSigner(*secret).Issue(who, now, flags.ttl_s > 0 ? flags.ttl_s
                                                                    : config->token_ttl_s);
  if (!token.ok()) {
    std::fprintf(stderr, "flare: %s\n", token.status().message().c_str());
    return 2;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace flare
