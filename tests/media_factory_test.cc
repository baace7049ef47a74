// OpenObjectStore and OpenMediaStore by config: each backend opens, and
// bad configuration is refused naming the key at fault.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "ports/store_factory.h"

namespace flare {
namespace {

std::string FreshDir() {
  static int counter = 0;
  std::string dir = ::testing::TempDir() + "/flare_media_factory_" + std::to_string(::getpid()) +
                    "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(MediaFactories, S3NeedsEndpointBucketAndKeysNamedInTheError) {
  Config config;
  config.media_backend = "s3";
  auto missing = OpenObjectStore(config);
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("media.s3.endpoint"), std::string::npos);
  config.media_s3_endpoint = "http://127.0.0.1:9";
  missing = OpenObjectStore(config);
  EXPECT_NE(missing.status().message().find("media.s3.bucket"), std::string::npos)
      << missing.status().ToString();
  config.media_s3_bucket = "media";
  missing = OpenObjectStore(config);
  EXPECT_NE(missing.status().message().find("media.s3.access_key"), std::string::npos);
  config.media_s3_access_key = config.media_s3_secret_key = "k";
  EXPECT_TRUE(OpenObjectStore(config).ok());  // nothing is asked of the server yet
  config.media_s3_endpoint = "127.0.0.1:9";   // no scheme
  auto bad = OpenObjectStore(config);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("media.s3"), std::string::npos);
}

TEST(MediaFactories, AnUnknownBackendIsNamed) {
  Config config;
  config.media_backend = "tape";
  auto store = OpenObjectStore(config);
  EXPECT_EQ(store.status().code(), Code::kInvalidArgument);
  EXPECT_NE(store.status().message().find("media.backend"), std::string::npos);
}

TEST(MediaFactories, FilesystemDefaultsToMediaUnderTheDataDir) {
  Config config;
  config.data_dir = FreshDir();
  auto store = OpenObjectStore(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("a/b", "bytes").ok());
  EXPECT_TRUE(std::filesystem::exists(config.data_dir + "/media/objects/a/b"));
  config.media_root = FreshDir();
  ASSERT_TRUE(OpenObjectStore(config).ok());
  EXPECT_TRUE(std::filesystem::exists(config.media_root + "/objects"));
}

TEST(MediaFactories, TheMediaStoreFollowsStorageBackend) {
  Config config;
  config.data_dir = FreshDir();
  config.storage_backend = "sqlite";
  auto sqlite = OpenMediaStore(config);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(config.data_dir + "/media.db"));
  config.storage_backend = "memory";
  EXPECT_TRUE(OpenMediaStore(config).ok());
  config.media_backend = "memory";
  EXPECT_TRUE(OpenObjectStore(config).ok());
}

}  // namespace
}  // namespace flare
