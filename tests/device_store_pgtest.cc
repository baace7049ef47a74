// The DeviceStore contract against a real PostgreSQL server started for
// this test process.
#include "adapters/postgres/postgres_device_store.h"
#include "device_store_contract.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;
using ::flare::testing::Query;

std::shared_ptr<DeviceStore> OpenFresh() {
  auto store = PostgresDeviceStore::Open(FreshDatabase("devices"));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<DeviceStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, DeviceStoreContract,
                         ::testing::Values(std::make_pair(std::string("postgres"),
                                                          DeviceStoreFactory(OpenFresh))),
                         [](const auto& info) { return info.param.first; });

TEST(PostgresDeviceStore, KeepsDevicesInTheDatabase) {
  std::string dsn = FreshDatabase("devices_kept");
  ASSERT_FALSE(dsn.empty());
  {
    auto store = PostgresDeviceStore::Open(dsn);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Register({"t1", "alice", "phone", "ios", "tok", "", false, "", 1}).ok());
  }
  EXPECT_EQ(Query(dsn, "SELECT token FROM push_devices WHERE user_id = 'alice'"), "tok");
  auto reopened = PostgresDeviceStore::Open(dsn);
  ASSERT_TRUE(reopened.ok()) << "migrations run again as a no-op";
}

}  // namespace
}  // namespace flare
