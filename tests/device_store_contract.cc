// The DeviceStore contract (see device_store_contract.h).
#include "device_store_contract.h"

#include <algorithm>

namespace flare {
namespace {

PushDevice Device(const std::string& user, const std::string& device, const std::string& token,
                  const std::string& platform = "ios") {
  return {"t1", user, device, platform, token, "en-US", false, "", 1000};
}

std::vector<PushDevice> DevicesOf(DeviceStore& store, std::vector<std::string> users,
                                  const std::string& tenant = "t1") {
  auto devices = store.DevicesOf(tenant, users);
  EXPECT_TRUE(devices.ok()) << devices.status().ToString();
  if (!devices.ok()) return {};
  std::sort(devices->begin(), devices->end(), [](const PushDevice& a, const PushDevice& b) {
    return std::tie(a.user_id, a.device_id) < std::tie(b.user_id, b.device_id);
  });
  return std::move(devices).value();
}

TEST_P(DeviceStoreContract, RegisteredDevicesComeBackWithEveryField) {
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "tok-a")).ok());
  ASSERT_TRUE(store_->Register(Device("alice", "tablet", "tok-b", "android")).ok());
  ASSERT_TRUE(store_->Register(Device("bob", "phone", "tok-c")).ok());
  auto devices = DevicesOf(*store_, {"alice", "bob", "carol"});
  ASSERT_EQ(devices.size(), 3u);
  EXPECT_EQ(devices[0].tenant, "t1");
  EXPECT_EQ(devices[0].user_id, "alice");
  EXPECT_EQ(devices[0].device_id, "phone");
  EXPECT_EQ(devices[0].platform, "ios");
  EXPECT_EQ(devices[0].token, "tok-a");
  EXPECT_EQ(devices[0].locale, "en-US");
  EXPECT_FALSE(devices[0].disabled);
  EXPECT_EQ(devices[0].updated_ms, 1000);
  EXPECT_EQ(devices[1].platform, "android");
  EXPECT_EQ(devices[2].user_id, "bob");
  EXPECT_EQ(DevicesOf(*store_, {"alice"}).size(), 2u);
  EXPECT_TRUE(DevicesOf(*store_, {"alice"}, "t2").empty()) << "tenants are apart";
}

TEST_P(DeviceStoreContract, RegisteringADeviceAgainReplacesItsToken) {
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "old")).ok());
  PushDevice again = Device("alice", "phone", "new");
  again.locale = "de-DE";
  again.updated_ms = 2000;
  ASSERT_TRUE(store_->Register(again).ok());
  auto devices = DevicesOf(*store_, {"alice"});
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].token, "new");
  EXPECT_EQ(devices[0].locale, "de-DE");
  EXPECT_EQ(devices[0].updated_ms, 2000);
}

TEST_P(DeviceStoreContract, ATokenBelongsToOneDevice) {
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "shared")).ok());
  ASSERT_TRUE(store_->Register(Device("bob", "phone", "shared")).ok());
  EXPECT_TRUE(DevicesOf(*store_, {"alice"}).empty());
  ASSERT_EQ(DevicesOf(*store_, {"bob"}).size(), 1u);
  // The same token string on another platform is another token.
  ASSERT_TRUE(store_->Register(Device("carol", "web", "shared", "webhook")).ok());
  EXPECT_EQ(DevicesOf(*store_, {"bob", "carol"}).size(), 2u);
}

TEST_P(DeviceStoreContract, UnregisterRemovesOnlyThatDevice) {
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "a")).ok());
  ASSERT_TRUE(store_->Register(Device("alice", "tablet", "b")).ok());
  ASSERT_TRUE(store_->Unregister("t1", "alice", "phone").ok());
  auto devices = DevicesOf(*store_, {"alice"});
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].device_id, "tablet");
  EXPECT_TRUE(store_->Unregister("t1", "alice", "never-registered").ok());
}

TEST_P(DeviceStoreContract, DisabledTokensStayListedUntilRegisteredAgain) {
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "gone")).ok());
  ASSERT_TRUE(store_->Register(Device("alice", "tablet", "fine")).ok());
  ASSERT_TRUE(store_->DisableToken("t1", "ios", "gone", "Unregistered").ok());
  ASSERT_TRUE(store_->DisableToken("t1", "android", "fine", "other platform").ok());
  auto devices = DevicesOf(*store_, {"alice"});
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_TRUE(devices[0].disabled);
  EXPECT_EQ(devices[0].disabled_reason, "Unregistered");
  EXPECT_FALSE(devices[1].disabled);
  ASSERT_TRUE(store_->Register(Device("alice", "phone", "gone")).ok());
  devices = DevicesOf(*store_, {"alice"});
  EXPECT_FALSE(devices[0].disabled) << "a re-registered token is enabled again";
  EXPECT_EQ(devices[0].disabled_reason, "");
}

TEST_P(DeviceStoreContract, MutesAreSetChangedAndLifted) {
  ASSERT_TRUE(store_->SetMute("t1", "alice", "c1", 5000).ok());
  ASSERT_TRUE(store_->SetMute("t1", "alice", "c2", -1).ok());
  auto prefs = store_->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok()) << prefs.status().ToString();
  EXPECT_EQ(prefs->muted_until_ms, (std::map<std::string, int64_t>{{"c1", 5000}, {"c2", -1}}));
  ASSERT_TRUE(store_->SetMute("t1", "alice", "c1", 9000).ok());
  ASSERT_TRUE(store_->SetMute("t1", "alice", "c2", 0).ok());
  prefs = store_->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok());
  EXPECT_EQ(prefs->muted_until_ms, (std::map<std::string, int64_t>{{"c1", 9000}}));
  auto bob = store_->Preferences("t1", "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_TRUE(bob->muted_until_ms.empty());
  EXPECT_FALSE(bob->dnd.has_value());
}

TEST_P(DeviceStoreContract, DoNotDisturbIsSetReplacedAndCleared) {
  ASSERT_TRUE(store_->SetDoNotDisturb("t1", "alice", DndWindow{22 * 60, 7 * 60, -300}).ok());
  auto prefs = store_->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok() && prefs->dnd.has_value());
  EXPECT_EQ(prefs->dnd->start_minute, 22 * 60);
  EXPECT_EQ(prefs->dnd->end_minute, 7 * 60);
  EXPECT_EQ(prefs->dnd->utc_offset_minutes, -300);
  ASSERT_TRUE(store_->SetDoNotDisturb("t1", "alice", DndWindow{60, 120, 60}).ok());
  prefs = store_->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok() && prefs->dnd.has_value());
  EXPECT_EQ(prefs->dnd->start_minute, 60);
  EXPECT_EQ(prefs->dnd->utc_offset_minutes, 60);
  ASSERT_TRUE(store_->SetDoNotDisturb("t1", "alice", std::nullopt).ok());
  prefs = store_->Preferences("t1", "alice");
  ASSERT_TRUE(prefs.ok());
  EXPECT_FALSE(prefs->dnd.has_value());
}

}  // namespace
}  // namespace flare
