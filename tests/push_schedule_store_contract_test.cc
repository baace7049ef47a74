// PushScheduleStoreContract on memory and on SQLite (a fresh file per test).
#include <unistd.h>

#include <filesystem>

#include "adapters/memory/memory_push_schedule_store.h"
#include "adapters/sqlite/sqlite_push_schedule_store.h"
#include "push_schedule_store_contract.h"

namespace flare {
namespace {

std::shared_ptr<PushScheduleStore> SqliteStore() {
  static int counter = 0;
  auto path =
      std::filesystem::temp_directory_path() /
      ("flare-push-schedule-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".db");
  std::filesystem::remove(path);
  auto store = SqlitePushScheduleStore::Open(path.string());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<PushScheduleStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, PushScheduleStoreContract,
    ::testing::Values(std::make_pair(std::string("memory"), PushScheduleStoreFactory([] {
                                       return std::make_shared<MemoryPushScheduleStore>();
                                     })),
                      std::make_pair(std::string("sqlite"), PushScheduleStoreFactory(SqliteStore))),
    [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
