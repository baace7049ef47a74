// Test support: a real hooks.v1.HookExtensionService server on a free
// loopback port, as a business server would run it. It verifies every
// call's signature and replay window (UNAUTHENTICATED when either fails),
// records what it got (and from which peer), and answers what the test's
// handler says, after the handler's delay.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hooks/v1/hooks.pb.h"

namespace grpc {
class Server;
}

namespace flare::testing {

struct GrpcReceivedCall {
  ::hooks::v1::HookRequest request;
  std::string peer;  // "ipv4:127.0.0.1:PORT": one per connection
  bool signature_ok = false;
  std::string signature_error;
};

struct GrpcReceiverReply {
  int status_code = 0;  // a grpc::StatusCode; 0 = OK
  ::hooks::v1::HookResponse response;
  int delay_ms = 0;  // before answering (a slow business server)
};

class GrpcHookReceiver {
 public:
  using Handler = std::function<GrpcReceiverReply(const GrpcReceivedCall&)>;
  explicit GrpcHookReceiver(std::string secret);
  ~GrpcHookReceiver();

  int port() const { return port_; }
  std::string url() const { return "grpc://127.0.0.1:" + std::to_string(port_); }
  void SetHandler(Handler handler);

  std::vector<GrpcReceivedCall> Calls() const;
  // Waits (on a condition, with a deadline) until `n` calls arrived.
  bool WaitForCalls(size_t n, int64_t timeout_ms = 10'000) const;

  // Records a call and says how to answer it (the service's half).
  GrpcReceiverReply Receive(GrpcReceivedCall call);
  // Waits `ms`, or less when the receiver stops.
  void Delay(int ms);

 private:
  class Service;
  std::string secret_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  std::vector<GrpcReceivedCall> calls_;
  bool stopping_ = false;
};

}  // namespace flare::testing
