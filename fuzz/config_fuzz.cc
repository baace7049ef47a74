// The TOML configuration loader: any file gives a Config or an error that
// names the problem, never a crash.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/flare-config-fuzz-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = flare::LoadConfig(path, {});
  if (!config.ok()) FUZZ_CHECK(!config.status().message().empty());
  std::remove(path.c_str());
  return 0;
}
