// The DeviceStore contract on the memory and SQLite adapters, and the
// factory's choice by storage.backend.
#include <filesystem>

#include "adapters/memory/memory_device_store.h"
#include "adapters/sqlite/sqlite_device_store.h"
#include "device_store_contract.h"
#include "ports/store_factory.h"

namespace flare {
namespace {

std::string FreshDir() {
  static int counter = 0;
  std::string dir = ::testing::TempDir() + "/flare_devices_" + std::to_string(::getpid()) + "_" +
                    std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::shared_ptr<DeviceStore> OpenSqlite() {
  auto store = SqliteDeviceStore::Open(FreshDir() + "/devices.db");
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<DeviceStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, DeviceStoreContract,
    ::testing::Values(std::make_pair(std::string("memory"), DeviceStoreFactory([] {
                                       return std::make_shared<MemoryDeviceStore>();
                                     })),
                      std::make_pair(std::string("sqlite"), DeviceStoreFactory(OpenSqlite))),
    [](const auto& info) { return info.param.first; });

TEST(SqliteDeviceStore, KeepsDevicesAndPreferencesAcrossReopen) {
  std::string path = FreshDir() + "/devices.db";
  {
    auto store = SqliteDeviceStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Register({"t1", "alice", "phone", "ios", "tok", "", false, "", 1}).ok());
    ASSERT_TRUE((*store)->SetMute("t1", "alice", "c1", -1).ok());
  }
  auto reopened = SqliteDeviceStore::Open(path);
  ASSERT_TRUE(reopened.ok());
  std::vector<std::string> users{"alice"};
  auto devices = (*reopened)->DevicesOf("t1", users);
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].token, "tok");
  auto prefs = (*reopened)->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok());
  EXPECT_EQ(prefs->muted_until_ms.at("c1"), -1);
}

TEST(DeviceStoreFactory, FollowsStorageBackend) {
  Config config;
  config.storage_backend = "sqlite";
  config.data_dir = FreshDir();
  auto sqlite = OpenDeviceStore(config);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  EXPECT_NE(dynamic_cast<SqliteDeviceStore*>(sqlite->get()), nullptr);
  EXPECT_TRUE(std::filesystem::exists(config.data_dir + "/devices.db"));
  config.storage_backend = "memory";
  auto memory = OpenDeviceStore(config);
  ASSERT_TRUE(memory.ok());
  EXPECT_NE(dynamic_cast<MemoryDeviceStore*>(memory->get()), nullptr);
  config.storage_backend = "nosuch";
  EXPECT_EQ(OpenDeviceStore(config).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace flare
