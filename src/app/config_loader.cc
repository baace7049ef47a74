#include "app/config_loader.h"

namespace flare {

Result<Config> LoadCommandConfig(const CommonFlags& flags) {
  auto config = LoadConfig(flags.config_path, FlareEnvironment());
  if (!config.ok()) return config.status();
  if (!flags.data_dir.empty()) config->data_dir = flags.data_dir;
  return config;
}

}  // namespace flare
