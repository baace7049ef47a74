// The ObjectStore contract on the memory and filesystem adapters, and what
// only the filesystem adapter promises: objects outlive the process, and a
// write a crash interrupted leaves nothing behind.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "adapters/filesystem/fs_object_store.h"
#include "adapters/memory/memory_object_store.h"
#include "object_store_contract.h"

namespace flare {
namespace {

std::string FreshDir() {
  static int counter = 0;
  std::string dir = ::testing::TempDir() + "/flare_objects_" + std::to_string(::getpid()) + "_" +
                    std::to_string(counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

std::shared_ptr<ObjectStore> OpenFs() {
  auto store = FsObjectStore::Open(FreshDir());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<ObjectStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, ObjectStoreContract,
    ::testing::Values(std::make_pair(std::string("memory"), ObjectStoreFactory([] {
                                       return std::make_shared<MemoryObjectStore>();
                                     })),
                      std::make_pair(std::string("filesystem"), ObjectStoreFactory(OpenFs))),
    [](const auto& info) { return info.param.first; });

TEST(FsObjectStore, ObjectsAndUploadsOutliveTheStoreAndCrashLeftoversAreCleared) {
  std::string root = FreshDir();
  std::string upload;
  {
    auto store = FsObjectStore::Open(root);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("t1/kept", "kept").ok());
    auto id = (*store)->StartMultipart("t1/big");
    ASSERT_TRUE(id.ok());
    upload = *id;
    ASSERT_TRUE((*store)->PutPart("t1/big", upload, 1, "part one").ok());
  }
  // A write that a crash interrupted before its rename.
  std::ofstream(root + "/tmp/123") << "half a file";
  auto store = FsObjectStore::Open(root);
  ASSERT_TRUE(store.ok());
  ObjectStore& reopened = **store;
  EXPECT_EQ(reopened.Get("t1/kept").value(), "kept");
  ASSERT_TRUE((*store)->CompleteMultipart("t1/big", upload, 1).ok()) << "resumed after a restart";
  EXPECT_EQ(reopened.Get("t1/big").value(), "part one");
  EXPECT_FALSE(std::filesystem::exists(root + "/tmp/123"));
  EXPECT_EQ((*store)->List("", "", 1000).value().objects.size(), 2u) << "tmp/ is not listed";
}

}  // namespace
}  // namespace flare
