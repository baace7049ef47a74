// Convergence: users with two devices each send, recall, edit, react, read,
// delete for themselves and change membership at random while devices go
// offline and come back. Afterwards every device's view of every
// conversation (messages with their states, read cursor, unread count)
// equals the server's.
#include <gtest/gtest.h>

#include <random>

#include "client/conversation_view.h"
#include "support/device_views.h"
#include "support/frames.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::ServerProcess;

struct Device : testing::DeviceViews {
  std::string user, name;
  std::unique_ptr<FlareClient> client;
  bool online = true;
};

class Convergence : public ::testing::TestWithParam<uint32_t> {
 protected:
  void AddDevice(const std::string& user, const std::string& name) {
    auto d = std::make_unique<Device>();
    d->user = user;
    d->name = name;
    d->client = std::make_unique<FlareClient>(server_.Options(user, name));
    d->Follow(*d->client, user, waiter_);
    ASSERT_TRUE(d->client->Connect().ok());
    devices_.push_back(std::move(d));
  }

  // Domain refusals are expected in a random run; transport failures are not.
  static void ExpectHandled(const Status& st) {
    EXPECT_TRUE(st.ok() || st.code() == Code::kPermissionDenied ||
                st.code() == Code::kAlreadyExists || st.code() == Code::kInvalidArgument ||
                st.code() == Code::kNotFound || st.code() == Code::kUnavailable)
        << st.ToString();
    EXPECT_NE(st.code(), Code::kInternal) << st.ToString();
  }

  ServerProcess server_;
  testing::Waiter waiter_;
  std::vector<std::unique_ptr<Device>> devices_;
};

TEST_P(Convergence, EveryDeviceEndsWithTheServersView) {
  std::mt19937 rng(GetParam());
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  for (const char* user : {"alice", "bob", "carol"}) {
    AddDevice(user, "d1");
    AddDevice(user, "d2");
  }
  AddDevice("dave", "d1");
  auto group = devices_[0]->client->Group(testing::CreateGroup({"bob", "carol"}));
  ASSERT_TRUE(group.ok());
  const std::string g = group->info().conversation_id();
  std::map<std::string, std::vector<std::string>> convs = {{"alice", {g, "bob", "carol"}},
                                                           {"bob", {g, "alice", "carol"}},
                                                           {"carol", {g, "alice", "bob"}},
                                                           {"dave", {"alice"}}};
  // (conversation, seq, sender) of messages acked so far.
  std::vector<std::tuple<std::string, int64_t, std::string>> sent;
  bool dave_in = false, dave_was_removed = false;

  for (int step = 0; step < 250; ++step) {
    Device& d = *devices_[pick(static_cast<int>(devices_.size()))];
    if (!d.online) {
      if (pick(3) == 0) {
        ASSERT_TRUE(d.client->Reconnect().ok());
        d.online = true;
      }
      continue;
    }
    if (pick(12) == 0) {
      d.client->Disconnect();
      d.online = false;
      continue;
    }
    const auto& mine = convs[d.user];
    std::string target = mine[pick(static_cast<int>(mine.size()))];
    bool is_group = target == g;
    int op = pick(10);
    if (op < 4 || sent.empty()) {
      pb::SendRequest req =
          is_group ? testing::ToConversation(g, "s" + std::to_string(step)) : pb::SendRequest();
      if (!is_group) {
        req.set_peer_user_id(target);
        req.set_client_msg_id(NewClientMsgId());
        req.mutable_content()->set_text("s" + std::to_string(step));
      }
      auto ack = d.client->Send(req);
      ExpectHandled(ack.status());
      if (ack.ok()) sent.emplace_back(ack->conversation_id(), ack->seq(), d.user);
      continue;
    }
    auto [conv, seq, sender] = sent[pick(static_cast<int>(sent.size()))];
    pb::MessageOpRequest req = testing::Op(conv, seq);
    switch (op) {
      case 4:
        req.mutable_recall();
        break;
      case 5:
        req.mutable_edit()->mutable_content()->set_text("e" + std::to_string(step));
        break;
      case 6:
        req.mutable_reaction()->set_emoji(pick(2) ? "+1" : "heart");
        req.mutable_reaction()->set_add(pick(3) != 0);
        break;
      case 7:
        req.mutable_delete_for_me();
        break;
      case 8: {
        ExpectHandled(d.client->MarkRead(conv, seq));
        continue;
      }
      default: {
        if (d.user != "alice" || dave_was_removed) continue;
        ExpectHandled(d.client->Group(testing::Members(g, {"dave"}, !dave_in)).status());
        if (dave_in) dave_was_removed = true;
        dave_in = !dave_in;
        if (dave_in) convs["dave"].push_back(g);
        continue;
      }
    }
    ExpectHandled(d.client->MessageOp(req).status());
  }
  for (auto& d : devices_) {
    if (!d->online) {
      ASSERT_TRUE(d->client->Reconnect().ok());
    }
  }

  for (auto& d : devices_) {
    FlareClient reader(server_.Options(d->user, "verifier"));
    ASSERT_TRUE(reader.Connect().ok());
    auto boot = reader.Bootstrap();
    ASSERT_TRUE(boot.ok());
    for (const auto& summary : boot->conversations()) {
      const std::string& conv = summary.conversation_id();
      bool caught_up = waiter_.WaitFor([&] {
        return d->client->DeliveredSeq(conv) >= summary.max_seq() &&
               d->client->ReadSeq(conv) >= summary.read_seq();
      });
      ASSERT_TRUE(caught_up) << d->user << "/" << d->name << " " << conv << " delivered "
                             << d->client->DeliveredSeq(conv) << " of " << summary.max_seq();
      ConversationView server_view = testing::ServerView(reader, d->user, conv);
      std::lock_guard lock(d->mu);
      const ConversationView& mine = d->views.try_emplace(conv, d->user).first->second;
      std::string difference;
      EXPECT_TRUE(mine.SameAs(server_view, &difference))
          << d->user << "/" << d->name << " " << conv << ": " << difference;
      EXPECT_EQ(d->client->ReadSeq(conv), summary.read_seq()) << d->user << "/" << d->name;
      EXPECT_EQ(mine.Unread(summary.read_seq()), summary.unread()) << d->user << "/" << conv;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Convergence, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace flare
