#include "support/s3rver.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>

namespace flare::testing {

S3rverProcess::S3rverProcess(const std::vector<std::string>& buckets) {
  static std::atomic<int> counter{0};
  directory_ = std::filesystem::temp_directory_path().string() + "/flare_s3rver_" +
               std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::filesystem::remove_all(directory_);
  std::filesystem::create_directories(directory_);
  // s3rver's ListObjectsV2 continuation tokens use DES, which Node 20's
  // OpenSSL 3 only has in its legacy provider.
  std::vector<std::string> argv = {
      "node", "--openssl-legacy-provider",
      std::string(FLARE_SOURCE_DIR) + "/tests/support/s3/s3rver_main.js", directory_};
  argv.insert(argv.end(), buckets.begin(), buckets.end());
  if (!process_.Start(argv)) return;
  auto line = process_.ReadLine(std::chrono::seconds(20));
  if (line && line->rfind("s3rver listening", 0) == 0) port_ = AnnouncedPort(*line);
}

S3rverProcess::~S3rverProcess() {
  if (process_.running()) {
    process_.Signal(SIGKILL);
    process_.Wait(std::chrono::seconds(10));
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

}  // namespace flare::testing
