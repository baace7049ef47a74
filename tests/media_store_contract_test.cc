// MediaStoreContract on memory and on SQLite (a fresh file per test), and
// what only SQLite promises: records outlive the store.
#include <unistd.h>

#include <filesystem>

#include "adapters/memory/memory_media_store.h"
#include "adapters/sqlite/sqlite_media_store.h"
#include "media_store_contract.h"

namespace flare {
namespace {

std::string FreshPath() {
  static int counter = 0;
  auto path = (std::filesystem::temp_directory_path() / ("flare-media-" + std::to_string(getpid()) +
                                                         "-" + std::to_string(++counter) + ".db"))
                  .string();
  std::filesystem::remove(path);
  return path;
}

std::shared_ptr<MediaStore> OpenSqlite(const std::string& path) {
  auto store = SqliteMediaStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<MediaStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, MediaStoreContract,
    ::testing::Values(std::make_pair(std::string("memory"), MediaStoreFactory([] {
                                       return std::make_shared<MemoryMediaStore>();
                                     })),
                      std::make_pair(std::string("sqlite"),
                                     MediaStoreFactory([] { return OpenSqlite(FreshPath()); }))),
    [](const auto& info) { return info.param.first; });

TEST(SqliteMediaStore, RecordsReferencesAndUploadsOutliveTheStore) {
  std::string path = FreshPath();
  {
    auto store = OpenSqlite(path);
    MediaRecord r;
    r.tenant = "t1";
    r.media_id = "m1";
    r.sha256 = "aa";
    r.created_ms = r.unreferenced_since_ms = 1;
    ASSERT_TRUE(store->Insert(r).ok());
    ASSERT_TRUE(store->AddRef("t1", "m1", "c1", 3).ok());
    UploadRecord u;
    u.tenant = "t1";
    u.upload_id = "u1";
    ASSERT_TRUE(store->InsertUpload(u).ok());
    ASSERT_TRUE(store->PutUploadPart("t1", "u1", 1, 42).ok());
  }
  auto store = OpenSqlite(path);
  EXPECT_EQ(store->Get("t1", "m1")->refs, 1);
  ASSERT_TRUE(store->AddRef("t1", "m1", "c1", 3).ok());  // the same message: still one
  EXPECT_EQ(store->Get("t1", "m1")->refs, 1);
  EXPECT_EQ(store->GetUpload("t1", "u1")->parts.at(1), 42u);
}

}  // namespace
}  // namespace flare
