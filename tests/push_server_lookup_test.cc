// push-server looks up an audience's routes with one LookupMany, reused by
// the messages of one committed batch to the same audience.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/ids.h"
#include "services/push/server/push_server.h"
#include "support/counting_route_table.h"
#include "support/forwarding_route_table.h"

namespace flare {
namespace {

using testing::CountingRouteTable;

// Records what push-server hands over: session -> seqs pushed.
class RecordingDelivery final : public PushDelivery {
 public:
  void Deliver(std::span<const SessionPushes> pushes) override {
    for (const auto& p : pushes) {
      for (const auto& item : p.items) pushed[p.session_id].push_back(item->seq);
    }
  }
  void Notify(const std::vector<uint64_t>&, const std::shared_ptr<const SharedFrame>&) override {}
  std::map<uint64_t, std::vector<int64_t>> pushed;
};

CommittedMessage GroupMessage(const Audience& audience, int64_t seq) {
  CommittedMessage cm;
  StoredMessage& sm = cm.stored;
  sm.tenant = "t";
  sm.message.set_conversation_id("g:1");
  sm.message.set_seq(seq);
  sm.message.set_sender("u0");
  sm.message.set_sender_device("d0");
  cm.audience = audience;
  return cm;
}

TEST(PushServerLookups, OneLookupPerAudiencePerCommittedBatch) {
  CountingRouteTable routes;
  for (uint64_t i = 0; i < 5; ++i) {
    std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(routes.Register("t", user, {"gw1", i + 1, "d" + std::to_string(i), "web"}).ok());
  }
  ASSERT_TRUE(
      routes.Register("t", "u0", {"gw1", 10, "d9", "ios"}).ok());  // the sender's other device
  ASSERT_TRUE(routes.Register("t", "u1", {"gw-other", 99, "d1", "ios"}).ok());
  RecordingDelivery delivery;
  PushServer push(routes, delivery, PushOptions{2000, "gw1"});
  auto audience = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"});
  std::vector<CommittedMessage> batch;
  for (int64_t seq = 1; seq <= 3; ++seq) batch.push_back(GroupMessage(audience, seq));
  push.OnStored(batch);
  EXPECT_EQ(routes.lookup_many, 1);
  EXPECT_EQ(routes.lookups, 0);
  std::set<uint64_t> sessions;
  for (const auto& [session, seqs] : delivery.pushed) {
    sessions.insert(session);
    EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3})) << session;
  }
  // Not the sending device (1), not another gateway's session (99).
  EXPECT_EQ(sessions, (std::set<uint64_t>{2, 3, 4, 5, 10}));

  std::vector<CommittedMessage> next{GroupMessage(audience, 4)};
  push.OnStored(next);
  EXPECT_EQ(routes.lookup_many, 2);  // a new batch looks again: routes change
}

// Records which sessions got which "advanced" notices.
class NoticeRecording final : public PushDelivery {
 public:
  void Deliver(std::span<const SessionPushes>) override {}
  void Notify(const std::vector<uint64_t>& sessions,
              const std::shared_ptr<const SharedFrame>&) override {
    for (uint64_t s : sessions) ++notices[s];
  }
  std::map<uint64_t, int> notices;
};

// A large group's batch holds a message of u1's and then one of u0's: u1's
// device must hear of u0's message although the batch's last message is
// not its own; a batch of u0's messages alone skips u0's sending device.
TEST(PushServerLookups, LargeGroupNoticesSkipOnlyADeviceThatSentTheWholeBatch) {
  CountingRouteTable routes;
  for (uint64_t i = 0; i < 5; ++i) {
    std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(routes.Register("t", user, {"gw1", i + 1, "d" + std::to_string(i), "web"}).ok());
  }
  NoticeRecording delivery;
  PushServer push(routes, delivery, PushOptions{2, "gw1"});  // 5 members: large
  auto audience = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"});
  std::vector<CommittedMessage> mixed{GroupMessage(audience, 1), GroupMessage(audience, 2)};
  mixed[0].stored.message.set_sender("u1");
  mixed[0].stored.message.set_sender_device("d1");
  push.OnStored(mixed);
  EXPECT_EQ(delivery.notices, (std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}));

  delivery.notices.clear();
  std::vector<CommittedMessage> own{GroupMessage(audience, 3), GroupMessage(audience, 4)};
  push.OnStored(own);
  EXPECT_EQ(delivery.notices, (std::map<uint64_t, int>{{2, 1}, {3, 1}, {4, 1}, {5, 1}}));
}

// Many 1:1 conversations in one batch: their audiences differ, yet the
// batch costs one LookupMany (one round trip to a remote route table), and
// every message still reaches exactly its two users' other devices.
TEST(PushServerLookups, ABatchOfDirectMessagesCostsOneLookup) {
  CountingRouteTable routes;
  for (uint64_t i = 0; i < 20; ++i) {
    std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(routes.Register("t", user, {"gw1", i + 1, "d", "web"}).ok());
  }
  RecordingDelivery delivery;
  PushServer push(routes, delivery, PushOptions{2000, "gw1"});
  std::vector<CommittedMessage> batch;
  for (int i = 0; i < 10; ++i) {
    CommittedMessage cm;
    cm.stored.tenant = "t";
    std::string a = "u" + std::to_string(2 * i), b = "u" + std::to_string(2 * i + 1);
    cm.stored.message.set_conversation_id(SingleConversationId(a, b));
    cm.stored.message.set_seq(1);
    cm.stored.message.set_sender(a);
    cm.stored.message.set_sender_device("d-sender");  // not the registered device
    batch.push_back(std::move(cm));
  }
  push.OnStored(batch);
  EXPECT_EQ(routes.lookup_many, 1);
  EXPECT_EQ(routes.lookups, 0);
  ASSERT_EQ(delivery.pushed.size(), 20u);  // both users of each pair
  for (const auto& [session, seqs] : delivery.pushed) EXPECT_EQ(seqs.size(), 1u) << session;

  // Read receipts of a batch: one lookup too.
  std::vector<ReadMove> moves;
  for (int i = 0; i < 10; ++i) {
    std::string a = "u" + std::to_string(2 * i), b = "u" + std::to_string(2 * i + 1);
    moves.push_back({"t", SingleConversationId(a, b), a, "d-sender", 1});
  }
  push.OnReadMoved(moves);
  EXPECT_EQ(routes.lookup_many, 2);
}

// A route table whose LookupMany fails (the others answer from memory).
class LookupFailingTable final : public testing::ForwardingRouteTable {
 public:
  Status LookupMany(const std::string&, std::span<const std::string>,
                    std::vector<UserRoute>&) override {
    return Unavailable("route table down");
  }
};

class RecordingOffline final : public OfflineSink {
 public:
  void OnCommitted(OfflineBatch batch) override { batches.push_back(std::move(batch)); }
  void OnReadMoved(const std::vector<ReadMove>&) override {}
  std::vector<OfflineBatch> batches;
};

// A failed lookup says nothing about who is online: the offline hand-off
// must not get "no routes" (it would notify devices that are online) but
// no entry at all, which it looks up again itself.
TEST(PushServerLookups, AFailedLookupHandsTheOfflineHandOffNoRoutesRatherThanNone) {
  LookupFailingTable routes;
  RecordingDelivery delivery;
  RecordingOffline offline;
  PushServer push(routes, delivery, PushOptions{2000, "gw1"});
  push.SetOfflineSink(&offline);
  auto audience =
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"u0", "u1"});
  std::vector<CommittedMessage> batch{GroupMessage(audience, 1)};
  push.OnStored(batch);
  EXPECT_TRUE(delivery.pushed.empty());
  ASSERT_EQ(offline.batches.size(), 1u);
  EXPECT_EQ(offline.batches[0].messages.size(), 1u);
  EXPECT_TRUE(offline.batches[0].routes.empty());
}

}  // namespace
}  // namespace flare
