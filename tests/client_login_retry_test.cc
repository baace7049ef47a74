// The client library against a gateway stand-in on a real WebSocket
// listener: a login refused for now (UNAVAILABLE, close 1013: the gateway
// could not check it, or is busy) is tried again after the backoff; a bad
// token (AUTH_FAILED, 4001) is final.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "adapters/lean_ws/lean_ws.h"
#include "client/flare_client.h"
#include "services/signaling/gateway/frame_codec.h"
#include "support/loopback_transport.h"

namespace flare {
namespace {

// Answers the auth frame: refuses the first `refusals` logins with `code`
// and closes, then logs in.
class ScriptedLogins final : public ConnectionHandler {
 public:
  ScriptedLogins(int refusals, pb::ErrorCode code) : refusals_(refusals), code_(code) {}
  void OnOpen(const std::shared_ptr<Connection>&, std::string) override {}
  void OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data,
               bool binary) override {
    Encoding encoding = binary ? Encoding::kBinary : Encoding::kJson;
    auto frame = DecodeClientFrame(data, encoding);
    if (!frame.ok() || !frame->has_auth()) return;
    ++logins_;
    pb::ServerFrame reply;
    reply.set_request_id(frame->request_id());
    if (refusals_-- > 0) {
      reply.mutable_error()->set_code(code_);
      reply.mutable_error()->set_message("refused");
      conn->Send(std::make_shared<const std::string>(EncodeFrame(reply, encoding)), binary);
      conn->Close(code_ == pb::ERROR_CODE_AUTH_FAILED ? 4001 : 1013, "refused");
      return;
    }
    reply.mutable_auth_result()->set_user_id("bob");
    reply.mutable_auth_result()->set_tenant("default");
    conn->Send(std::make_shared<const std::string>(EncodeFrame(reply, encoding)), binary);
  }
  void OnClose(const std::shared_ptr<Connection>&) override {}
  int logins() const { return logins_; }

 private:
  std::atomic<int> refusals_;
  const pb::ErrorCode code_;
  std::atomic<int> logins_{0};
};

// Connects a client (short backoff) to a listener run by `gateway`.
Status ConnectThrough(ScriptedLogins& gateway) {
  auto transport = MakeLeanTransport(testing::LoopbackTransportOptions(1), &gateway,
                                     testing::EmptyHttpHandler());
  if (Status st = transport->Start(); !st.ok()) return st;
  ClientOptions o;
  o.port = transport->ws_port();
  o.token = "any";
  o.backoff_min_ms = 5;
  o.backoff_max_ms = 20;
  o.request_timeout_ms = 5'000;
  FlareClient client(o);
  Status st = client.Connect();
  client.Close();
  transport->Stop();
  return st;
}

TEST(ClientLogin, ALoginRefusedForNowIsTriedAgain) {
  ScriptedLogins gateway(2, pb::ERROR_CODE_UNAVAILABLE);
  Status st = ConnectThrough(gateway);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(gateway.logins(), 3);
}

TEST(ClientLogin, ABadTokenIsFinal) {
  ScriptedLogins gateway(1, pb::ERROR_CODE_AUTH_FAILED);
  Status st = ConnectThrough(gateway);
  EXPECT_EQ(st.code(), Code::kUnauthenticated) << st.ToString();
  EXPECT_EQ(gateway.logins(), 1);
}

}  // namespace
}  // namespace flare
