// The SettingsStore contract against a real PostgreSQL server started for
// this test process; another handle is another connection to the same
// database, as another process of the deployment would hold.
#include "adapters/postgres/postgres_settings_store.h"
#include "settings_store_contract.h"
#include "support/postgres_server.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;

std::shared_ptr<SettingsStore> Open(const std::string& dsn) {
  auto store = PostgresSettingsStore::Open(dsn);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<SettingsStore>(std::move(store).value()) : nullptr;
}

auto FreshPostgres() {
  std::string dsn = FreshDatabase("settings");
  std::function<std::shared_ptr<SettingsStore>()> reopen = [dsn] { return Open(dsn); };
  return std::make_pair(Open(dsn), reopen);
}

INSTANTIATE_TEST_SUITE_P(Adapters, SettingsStoreContract,
                         ::testing::Values(SettingsStoreBackend{"postgres", FreshPostgres}),
                         [](const auto& info) { return info.param.name; });

// A connection left idle while the server restarted (a gateway reads the
// store only at logins) is reconnected by its next read.
TEST(PostgresSettingsStore, AReadAfterTheServerRestartedReconnects) {
  auto store = Open(FreshDatabase("settings_restart"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("k", 0, "v").ok());
  std::string error;
  auto* server = ::flare::testing::SharedPostgres(&error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->Restart().ok());
  auto doc = store->Get("k");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->value, "v");
}

}  // namespace
}  // namespace flare
