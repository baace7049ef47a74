#include "app/config_loader.h"

#include <chrono>

namespace flare {

Result<Config> LoadCommandConfig(const CommonFlags& flags) {
  auto config = LoadConfig(flags.config_path, FlareEnvironment());
  if (!config.ok()) return config.status();
  if (!flags.data_dir.empty()) config->data_dir = flags.data_dir;
  return config;
}

Result<std::string> IssueToken(const Config& config, const Principal& who, int64_t ttl_s) {
  auto secret = ResolveJwtSecret(config);
  if (!secret.ok()) return secret.status();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return TokenSigner(*secret).Issue(who, now, ttl_s > 0 ? ttl_s : config.token_ttl_s);
}

Result<std::string> IssueAdminToken(const Config& config, const std::string& tenant,
                                    int64_t ttl_s) {
  auto secret = ResolveJwtSecret(config);
  if (!secret.ok()) return secret.status();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return TokenSigner(*secret).IssueAdmin({tenant, "cli", 0}, now,
                                         ttl_s > 0 ? ttl_s : config.token_ttl_s);
}

}  // namespace flare
