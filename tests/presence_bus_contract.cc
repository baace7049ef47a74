// The contract every PresenceBus adapter passes.
#include "presence_bus_contract.h"

namespace flare {

TEST_P(PresenceBusContract, ANoticeReachesTheListenersOfEveryGateway) {
  NoticeInbox on_a, on_b;
  uint64_t a = buses_.first->AddListener(on_a.Listener());
  uint64_t b = buses_.second->AddListener(on_b.Listener());
  const std::string payload("on\0line\xff", 8);
  ASSERT_TRUE(buses_.second->Publish("acme", "bob", payload).ok());
  for (NoticeInbox* inbox : {&on_a, &on_b}) {
    auto got = inbox->WaitFor(1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].tenant, "acme");
    EXPECT_EQ(got[0].user, "bob");
    EXPECT_EQ(got[0].payload, payload);
  }
  buses_.first->RemoveListener(a);
  buses_.second->RemoveListener(b);
}

TEST_P(PresenceBusContract, TenantAndUserArriveExactlyAsPublished) {
  NoticeInbox inbox;
  uint64_t id = buses_.first->AddListener(inbox.Listener());
  ASSERT_TRUE(buses_.second->Publish("a:presence:b%3A", "u:1", "x").ok());
  ASSERT_TRUE(buses_.second->Publish("other", "u:1", "y").ok());
  auto got = inbox.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  // One publisher's notices arrive in order.
  EXPECT_EQ(got[0].tenant, "a:presence:b%3A");
  EXPECT_EQ(got[0].user, "u:1");
  EXPECT_EQ(got[0].payload, "x");
  EXPECT_EQ(got[1].tenant, "other");
  EXPECT_EQ(got[1].payload, "y");
  buses_.first->RemoveListener(id);
}

TEST_P(PresenceBusContract, ARemovedListenerIsNotCalled) {
  NoticeInbox removed, kept;
  uint64_t gone = buses_.first->AddListener(removed.Listener());
  uint64_t id = buses_.first->AddListener(kept.Listener());
  buses_.first->RemoveListener(gone);
  ASSERT_TRUE(buses_.second->Publish("t", "bob", "1").ok());
  ASSERT_EQ(kept.WaitFor(1).size(), 1u);
  // Both would have been called by the same delivery, the removed one first.
  EXPECT_EQ(removed.size(), 0u);
  buses_.first->RemoveListener(id);
}

}  // namespace flare
