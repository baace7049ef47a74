// SettingsStoreContract on memory and on SQLite (a fresh file per test;
// another handle is another connection to that file).
#include <unistd.h>

#include <filesystem>

#include "adapters/memory/memory_settings_store.h"
#include "adapters/sqlite/sqlite_settings_store.h"
#include "settings_store_contract.h"

namespace flare {
namespace {

std::shared_ptr<SettingsStore> OpenSqlite(const std::string& path) {
  auto store = SqliteSettingsStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<SettingsStore>(std::move(store).value()) : nullptr;
}

auto FreshSqlite() {
  static int counter = 0;
  auto path =
      (std::filesystem::temp_directory_path() /
       ("flare-settings-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".db"))
          .string();
  std::filesystem::remove(path);
  std::function<std::shared_ptr<SettingsStore>()> reopen = [path] { return OpenSqlite(path); };
  return std::make_pair(OpenSqlite(path), reopen);
}

auto FreshMemory() {
  return std::make_pair(std::shared_ptr<SettingsStore>(std::make_shared<MemorySettingsStore>()),
                        std::function<std::shared_ptr<SettingsStore>()>());
}

INSTANTIATE_TEST_SUITE_P(Adapters, SettingsStoreContract,
                         ::testing::Values(SettingsStoreBackend{"memory", FreshMemory},
                                           SettingsStoreBackend{"sqlite", FreshSqlite}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace flare
