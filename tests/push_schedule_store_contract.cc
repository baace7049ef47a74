// What every PushScheduleStore does: templates per tenant, scheduled pushes
// due in time order, removal once.
#include "push_schedule_store_contract.h"

namespace flare {
namespace {

TEST_P(PushScheduleStoreContract, TemplatesAreKeptPerTenantAndReplacedByName) {
  ASSERT_TRUE(store_->PutTemplate({"t1", "welcome", "Hi {{name}}", "body 1", 10}).ok());
  ASSERT_TRUE(store_->PutTemplate({"t1", "welcome", "Hello {{name}}", "body 2", 20}).ok());
  ASSERT_TRUE(store_->PutTemplate({"t1", "alert", "A", "B", 30}).ok());
  ASSERT_TRUE(store_->PutTemplate({"t2", "welcome", "other tenant", "x", 40}).ok());

  auto got = store_->GetTemplate("t1", "welcome");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->title, "Hello {{name}}");
  EXPECT_EQ((*got)->body, "body 2");
  EXPECT_EQ((*got)->updated_ms, 20);

  auto list = store_->ListTemplates("t1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alert");
  EXPECT_EQ((*list)[1].name, "welcome");

  auto missing = store_->GetTemplate("t3", "welcome");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(PushScheduleStoreContract, DeletingATemplateTwiceIsNotFound) {
  ASSERT_TRUE(store_->PutTemplate({"t1", "welcome", "Hi", "", 10}).ok());
  EXPECT_EQ(store_->DeleteTemplate("t2", "welcome").code(), Code::kNotFound);
  EXPECT_TRUE(store_->DeleteTemplate("t1", "welcome").ok());
  EXPECT_EQ(store_->DeleteTemplate("t1", "welcome").code(), Code::kNotFound);
  auto list = store_->ListTemplates("t1");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_P(PushScheduleStoreContract, DuePushesComeEarliestFirstAndStayUntilRemoved) {
  ASSERT_TRUE(store_->AddScheduled({"p3", "t1", 3000, std::string("r3\0x", 4), 1}).ok());
  ASSERT_TRUE(store_->AddScheduled({"p1", "t2", 1000, "r1", 1}).ok());
  ASSERT_TRUE(store_->AddScheduled({"p2", "t1", 2000, "r2", 1}).ok());

  auto due = store_->Due(2500, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].push_id, "p1");
  EXPECT_EQ((*due)[0].tenant, "t2");
  EXPECT_EQ((*due)[1].push_id, "p2");

  auto limited = store_->Due(5000, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].push_id, "p1");

  // Another tenant cannot remove it; its own can, once.
  EXPECT_EQ(store_->RemoveScheduled("t1", "p1").code(), Code::kNotFound);
  EXPECT_TRUE(store_->RemoveScheduled("t2", "p1").ok());
  EXPECT_EQ(store_->RemoveScheduled("t2", "p1").code(), Code::kNotFound);

  auto rest = store_->Due(5000, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].push_id, "p3");
  EXPECT_EQ((*rest)[1].request, std::string("r3\0x", 4));  // bytes kept as they are
}

TEST_P(PushScheduleStoreContract, ListScheduledShowsOneTenantsPendingPushes) {
  ASSERT_TRUE(store_->AddScheduled({"p2", "t1", 2000, "r2", 5}).ok());
  ASSERT_TRUE(store_->AddScheduled({"p1", "t1", 1000, "r1", 6}).ok());
  ASSERT_TRUE(store_->AddScheduled({"p9", "t2", 1000, "r9", 7}).ok());
  auto list = store_->ListScheduled("t1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].push_id, "p1");
  EXPECT_EQ((*list)[0].created_ms, 6);
  EXPECT_EQ((*list)[1].push_id, "p2");
}

}  // namespace
}  // namespace flare
