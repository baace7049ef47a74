// Authentication against a real `flare serve`.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>

#include "services/signaling/gateway/frame_codec.h"
#include "services/signaling/online/token.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::RawConnection;
using testing::ServerProcess;

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AuthFrame(const std::string& token) {
  pb::ClientFrame frame;
  frame.set_request_id("a1");
  frame.mutable_auth()->set_token(token);
  return EncodeFrame(frame, Encoding::kJson);
}

pb::ServerFrame Decode(const RawConnection::Event& e) {
  auto f = DecodeServerFrame(e.data, e.binary ? Encoding::kBinary : Encoding::kJson);
  EXPECT_TRUE(f.ok()) << e.data;
  return f.ok() ? *f : pb::ServerFrame();
}

// Sends `token` and expects AUTH_FAILED followed by a 4001 close.
void ExpectRejected(const ServerProcess& server, const std::string& token, const char* why) {
  RawConnection raw(server.ws_port());
  ASSERT_TRUE(raw.connected());
  raw.Send(AuthFrame(token), false);
  auto reply = raw.Next();
  ASSERT_TRUE(reply && !reply->closed) << why;
  pb::ServerFrame frame = Decode(*reply);
  EXPECT_EQ(frame.error().code(), pb::ERROR_CODE_AUTH_FAILED) << why;
  EXPECT_EQ(frame.request_id(), "a1");
  auto closed = raw.Next();
  ASSERT_TRUE(closed && closed->closed) << why;
  EXPECT_EQ(closed->close_code, 4001) << why;
}

TEST(E2eAuth, ValidTokenAuthenticates) {
  ServerProcess server;
  FlareClient client(server.Options("alice", "phone"));
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_TRUE(client.authenticated());
}

TEST(E2eAuth, BadExpiredAndForgedTokensAreRejected) {
  ServerProcess server;
  ExpectRejected(server, "garbage", "garbage token");
  auto expired = TokenSigner(testing::kTestSecret)
                     .Issue({"default", "alice", "d", "web", 0}, NowS() - 100, 10);
  ExpectRejected(server, *expired, "expired token");
  auto forged =
      TokenSigner(std::string(44, 'f')).Issue({"default", "alice", "d", "web", 0}, NowS(), 600);
  ExpectRejected(server, *forged, "forged token");

  FlareClient client(server.Options("bob"));
  EXPECT_TRUE(client.Connect().ok()) << "the server keeps serving others";
}

TEST(E2eAuth, ClientLibraryReportsARejectedToken) {
  ServerProcess server;
  ClientOptions options = server.Options("alice");
  options.token = "not-a-jwt";
  FlareClient client(options);
  Status st = client.Connect();
  EXPECT_EQ(st.code(), Code::kUnauthenticated) << st.ToString();
}

TEST(E2eAuth, TokenInTheQueryStringAuthenticatesOnConnect) {
  ServerProcess server;
  RawConnection raw(server.ws_port(), "/ws?token=" + server.Token("alice"));
  ASSERT_TRUE(raw.connected());
  auto e = raw.Next();
  ASSERT_TRUE(e && !e->closed);
  pb::ServerFrame frame = Decode(*e);
  ASSERT_TRUE(frame.has_auth_result());
  EXPECT_EQ(frame.auth_result().user_id(), "alice");
}

TEST(E2eAuth, RequestsBeforeAuthAreRefusedThenAuthStillWorks) {
  ServerProcess server;
  RawConnection raw(server.ws_port());
  pb::ClientFrame send;
  send.set_request_id("s1");
  send.mutable_send()->set_peer_user_id("bob");
  send.mutable_send()->set_client_msg_id("m1");
  raw.Send(EncodeFrame(send, Encoding::kBinary), true);
  auto e = raw.Next();
  ASSERT_TRUE(e && !e->closed);
  pb::ServerFrame refused = Decode(*e);
  EXPECT_EQ(refused.error().code(), pb::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused.request_id(), "s1");

  raw.Send(AuthFrame(server.Token("alice")), false);
  e = raw.Next();
  ASSERT_TRUE(e && !e->closed);
  EXPECT_TRUE(Decode(*e).has_auth_result());
  EXPECT_FALSE(e->binary) << "the reply uses the encoding of the request";
}

TEST(E2eAuth, ConnectionsThatNeverAuthenticateAreClosed) {
  ServerProcess server(
      {{"FLARE_AUTH_AUTH_TIMEOUT_MS", "200"}, {"FLARE_GATEWAY_TIMER_INTERVAL_MS", "20"}});
  RawConnection raw(server.ws_port());
  ASSERT_TRUE(raw.connected());
  auto e = raw.Next();
  ASSERT_TRUE(e && !e->closed);
  EXPECT_EQ(Decode(*e).error().code(), pb::ERROR_CODE_UNAUTHENTICATED);
  e = raw.Next();
  ASSERT_TRUE(e && e->closed);
  EXPECT_EQ(e->close_code, 4002);
}

TEST(E2eAuth, GeneratedSecretIsKeptInTheDataDir) {
  ServerProcess server(std::map<std::string, std::string>{{"FLARE_AUTH_JWT_SECRET", ""}});
  std::string path = server.data_dir() + "/jwt.secret";
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  EXPECT_EQ(secret.size(), 64u);
  EXPECT_NE(secret, testing::kTestSecret);
  auto token = TokenSigner(secret).Issue({"default", "alice", "d", "web", 0}, NowS(), 60);
  ClientOptions options = server.Options("alice");
  options.token = *token;
  FlareClient client(options);
  EXPECT_TRUE(client.Connect().ok());
  // The token `flare token` would print with the default secret is refused.
  ExpectRejected(server, server.Token("alice"), "token signed with another secret");
}

// An IPv4 address of this machine other than loopback, or "" if none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) found = text;
  }
  freeifaddrs(list);
  return found;
}

TEST(E2eMetrics, WithoutATokenMetricsAreServedToLoopbackClientsOnly) {
  ServerProcess server({{"FLARE_SERVER_BIND_ADDRESS", "0.0.0.0"}});
  long status = 0;
  server.HttpGet("/metrics", &status);
  EXPECT_EQ(status, 200);
  std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  std::string body = server.HttpGet("/metrics", &status, "", address);
  EXPECT_EQ(status, 403);
  EXPECT_EQ(body.find("flare_"), std::string::npos) << body;
  EXPECT_NE(body.find("server.metrics_token"), std::string::npos) << body;
  server.HttpGet("/healthz", &status, "", address);
  EXPECT_EQ(status, 200) << "health stays public";
}

TEST(E2eMetrics, AConfiguredTokenIsRequiredFromEveryone) {
  const std::string token = "scrape-token-0123456789";
  ServerProcess server(
      {{"FLARE_SERVER_METRICS_TOKEN", token}, {"FLARE_SERVER_BIND_ADDRESS", "0.0.0.0"}});
  long status = 0;
  std::string body = server.HttpGet("/metrics", &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(body.find("flare_"), std::string::npos) << body;
  server.HttpGet("/metrics", &status, token + "x");
  EXPECT_EQ(status, 401);
  server.HttpGet("/metrics", &status, token.substr(1));
  EXPECT_EQ(status, 401);
  body = server.HttpGet("/metrics", &status, token);
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("flare_connections_authenticated"), std::string::npos) << body;
  server.HttpGet("/readyz", &status);
  EXPECT_EQ(status, 200);
  std::string address = NonLoopbackAddress();
  if (address.empty()) return;
  server.HttpGet("/metrics", &status, token, address);
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace flare
