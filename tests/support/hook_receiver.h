// Test support: a real HTTP/1.1 webhook receiver on 127.0.0.1 (plain POSIX
// sockets, a thread per connection, keep-alive). It verifies every call's
// X-Flare-Signature and replay window as a business server would (401 when
// either fails), records what it got, and answers what the test's handler
// says, after the handler's delay.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flare::testing {

struct ReceivedCall {
  std::string path;                            // of the request line, query included
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool signature_ok = false;
  std::string signature_error;
};

struct ReceiverReply {
  int status = 200;
  std::string body;  // JSON; empty = allow
  int delay_ms = 0;  // before answering (a slow business server)
};

class HookReceiver {
 public:
  using Handler = std::function<ReceiverReply(const ReceivedCall&)>;
  explicit HookReceiver(std::string secret, int64_t window_s = 300);
  ~HookReceiver();

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;
  void SetHandler(Handler handler);
  // Moves the receiver's idea of "now" (seconds), to make calls look old.
  void SetClockOffset(int64_t seconds) { clock_offset_s_ = seconds; }
  // Off: every call goes to the handler, signed or not (a plain HTTP
  // server, e.g. a push provider's stand-in).
  void SetVerifySignatures(bool verify) { verify_signatures_ = verify; }

  std::vector<ReceivedCall> Calls() const;
  size_t CallCount() const;
  // Waits (on a condition, with a deadline) until `n` calls arrived.
  bool WaitForCalls(size_t n, int64_t timeout_ms = 10'000) const;
  // POSTs raw bytes with the given headers to this receiver (a replay);
  // returns the HTTP status, or -1.
  int Post(const std::map<std::string, std::string>& headers, const std::string& body) const;

 private:
  void Accept();
  void Serve(int fd);
  bool ReadRequest(int fd, std::string& buffer, ReceivedCall& call);

  std::string secret_;
  int64_t window_s_;
  std::atomic<int64_t> clock_offset_s_{0};
  std::atomic<bool> verify_signatures_{true};
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  std::vector<ReceivedCall> calls_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  std::thread acceptor_;
};

}  // namespace flare::testing
