// The PushScheduleStore contract against a real PostgreSQL server started
// for this test process.
#include "adapters/postgres/postgres_push_schedule_store.h"
#include "push_schedule_store_contract.h"
#include "support/postgres_test_db.h"

namespace flare {
namespace {

using ::flare::testing::FreshDatabase;

std::shared_ptr<PushScheduleStore> OpenFresh() {
  auto store = PostgresPushScheduleStore::Open(FreshDatabase("push_schedule"));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<PushScheduleStore>(std::move(store).value()) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, PushScheduleStoreContract,
                         ::testing::Values(std::make_pair(std::string("postgres"),
                                                          PushScheduleStoreFactory(OpenFresh))),
                         [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
