// The MediaStore contract against a real PostgreSQL server started for
// this test process (schema migration 9).
#include "adapters/postgres/postgres_media_store.h"
#include "media_store_contract.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;

std::shared_ptr<MediaStore> OpenFresh() {
  auto store = PostgresMediaStore::Open(FreshDatabase("media"));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<MediaStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, MediaStoreContract,
                         ::testing::Values(std::make_pair(std::string("postgres"),
                                                          MediaStoreFactory(OpenFresh))),
                         [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
