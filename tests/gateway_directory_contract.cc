// What every GatewayDirectory adapter does: announced addresses are found
// by gateway id until withdrawn or expired; unknown ids are kNotFound.
#include "gateway_directory_contract.h"

namespace flare {
namespace {

constexpr int64_t kTtlMs = 60'000;

TEST_P(GatewayDirectoryContract, AnUnknownGatewayIsNotFound) {
  auto found = directory_->Find("gw-nobody");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotFound);
}

TEST_P(GatewayDirectoryContract, AnAnnouncedAddressIsFoundByItsGatewayOnly) {
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.1:7001", kTtlMs).ok());
  ASSERT_TRUE(directory_->Announce("gw-b", "10.0.0.2:7002", kTtlMs).ok());
  auto a = directory_->Find("gw-a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "10.0.0.1:7001");
  auto b = directory_->Find("gw-b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, "10.0.0.2:7002");
  EXPECT_EQ(directory_->Find("gw-c").status().code(), Code::kNotFound);
}

TEST_P(GatewayDirectoryContract, AnnouncingAgainReplacesTheAddress) {
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.1:7001", kTtlMs).ok());
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.9:7009", kTtlMs).ok());
  auto a = directory_->Find("gw-a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "10.0.0.9:7009");
}

TEST_P(GatewayDirectoryContract, AWithdrawnGatewayIsNotFound) {
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.1:7001", kTtlMs).ok());
  ASSERT_TRUE(directory_->Announce("gw-b", "10.0.0.2:7002", kTtlMs).ok());
  ASSERT_TRUE(directory_->Withdraw("gw-a").ok());
  EXPECT_EQ(directory_->Find("gw-a").status().code(), Code::kNotFound);
  EXPECT_TRUE(directory_->Find("gw-b").ok());
  EXPECT_TRUE(directory_->Withdraw("gw-never-announced").ok());
}

TEST_P(GatewayDirectoryContract, AnAnnouncementExpiresAfterItsTtlUnlessRenewed) {
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.1:7001", kTtlMs).ok());
  under_test_.pass_ttl();
  EXPECT_EQ(directory_->Find("gw-a").status().code(), Code::kNotFound);
  ASSERT_TRUE(directory_->Announce("gw-a", "10.0.0.1:7001", kTtlMs).ok());
  auto a = directory_->Find("gw-a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "10.0.0.1:7001");
}

TEST_P(GatewayDirectoryContract, AnAnnouncementNeedsAnIdAnAddressAndATtl) {
  EXPECT_EQ(directory_->Announce("", "10.0.0.1:7001", kTtlMs).code(), Code::kInvalidArgument);
  EXPECT_EQ(directory_->Announce("gw-a", "", kTtlMs).code(), Code::kInvalidArgument);
  EXPECT_EQ(directory_->Announce("gw-a", "10.0.0.1:7001", 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(directory_->Find("gw-a").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace flare
