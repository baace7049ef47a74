// The media service inside a real embedded server: media uploaded through
// EmbeddedServer::media() are referenced by a message a real client sends
// with the media's url as an attachment (the writer's listener, the
// service's thread), and released when the sender recalls it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "app/embedded_server.h"
#include "client/flare_client.h"
#include "common/ids.h"
#include "services/media/media_service.h"
#include "services/signaling/online/token.h"
#include "support/server_process.h"

namespace flare {
namespace {

bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class E2eMedia : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() / ("flare-media-" + NewClientMsgId());
    auto server = EmbeddedServer::Create(testing::InProcessConfig(data_dir_.string()));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  std::unique_ptr<FlareClient> Connected(const std::string& user) {
    ClientOptions o;
    o.port = server_->ws_port();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    o.token =
        *TokenSigner(testing::kTestSecret).Issue({"default", user, "d1", "test", 0}, now, 3600);
    o.request_timeout_ms = 10'000;
    auto client = std::make_unique<FlareClient>(o);
    EXPECT_TRUE(client->Connect().ok());
    return client;
  }

  int64_t References(const std::string& media_id) {
    auto info = server_->media().Info("default", media_id);
    return info.ok() ? info->references : -1;
  }

  std::filesystem::path data_dir_;
  std::unique_ptr<EmbeddedServer> server_;
};

TEST_F(E2eMedia, AnAttachmentRefersToTheMediaAndARecallReleasesIt) {
  auto media = server_->media().Upload("default", "alice", "a shared document\n");
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(data_dir_ / "media.db"));
  auto alice = Connected("alice");
  pb::SendRequest send;
  send.set_peer_user_id("bob");
  send.set_type(pb::MESSAGE_TYPE_FILE);
  auto* attachment = send.add_attachments();
  attachment->set_url(media->url());
  attachment->set_mime_type(media->mime_type);
  auto sent = alice->Send(send);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return References(media->media_id) == 1; }))
      << References(media->media_id);

  pb::MessageOpRequest recall;
  recall.set_conversation_id(sent->conversation_id());
  recall.set_target_seq(sent->seq());
  recall.mutable_recall();
  ASSERT_TRUE(alice->MessageOp(recall).ok());
  EXPECT_TRUE(WaitFor([&] { return References(media->media_id) == 0; }))
      << References(media->media_id);
}

}  // namespace
}  // namespace flare
