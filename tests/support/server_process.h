// Test support: a real `flare serve` child process on free ports in a
// temporary data directory, plus helpers to mint tokens, fetch HTTP pages
// and speak raw WebSocket frames.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/client_transport.h"
#include "client/flare_client.h"
#include "common/config.h"

namespace flare::testing {

inline const std::string kTestSecret = "flare-test-secret-0123456789abcdef0123456789";

// The config of an embedded server run inside the test process: loopback,
// free ports, two I/O threads, kTestSecret, its data in `data_dir`.
inline Config InProcessConfig(const std::string& data_dir) {
  Config config;
  config.data_dir = data_dir;
  config.bind_address = "127.0.0.1";
  config.ws_port = 0;
  config.http_port = 0;
  config.quic_port = 0;  // off; QUIC tests ask for -1 (a free port)
  config.io_threads = 2;
  config.jwt_secret = kTestSecret;
  return config;
}

class ServerProcess {
 public:
  // Starts the server and waits for its "listening" line. `env` adds
  // FLARE_* settings; the data dir is kept across Restart().
  explicit ServerProcess(std::map<std::string, std::string> env = {});
  ServerProcess(std::initializer_list<std::pair<const std::string, std::string>> env)
      : ServerProcess(std::map<std::string, std::string>(env)) {}
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  uint16_t ws_port() const { return ws_port_; }
  uint16_t quic_port() const { return quic_port_; }  // a free port unless FLARE_SERVER_QUIC_PORT
  uint16_t http_port() const { return http_port_; }
  int rpc_port() const { return rpc_port_; }                // a role process's (FLARE_SERVER_ROLES)
  int hook_admin_port() const { return hook_admin_port_; }  // with FLARE_HOOK_ADMIN_TOKEN
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  void Kill(int signal);  // sends the signal and reaps the process
  int Terminate();        // SIGTERM; returns the exit status
  // Starts again on the same data dir and ports (a role process's gRPC port
  // too: static discovery names it).
  void Restart();
  // SIGSTOP, returning once every thread has stopped; Continue() is SIGCONT.
  void Pause();
  void Continue();
  // True, with the process reaped, if it stopped itself on a storage
  // failure it cannot recover from in-process (exit status 74,
  // docs/architecture.md): a supervisor restarts it. Any other exit is a
  // test failure.
  bool FailStopped();

  std::string Token(const std::string& user, const std::string& device = "d1", int64_t ttl_s = 3600,
                    const std::string& tenant = "default") const;
  ClientOptions Options(const std::string& user, const std::string& device = "d1",
                        const std::string& tenant = "default") const;
  // The same over QUIC, pinning the server's development certificate.
  ClientOptions QuicOptions(const std::string& user, const std::string& device = "d1",
                            const std::string& tenant = "default") const;
  // GET on the HTTP port at `host`, with `Authorization: Bearer <bearer>` if
  // `bearer` is not empty.
  std::string HttpGet(const std::string& path, long* status = nullptr,
                      const std::string& bearer = "", const std::string& host = "127.0.0.1") const;
  // Any request on the HTTP port (JSON body if not empty); the answer's body.
  std::string Http(const std::string& method, const std::string& path, const std::string& body,
                   long* status, const std::string& bearer = "",
                   std::vector<std::string>* response_headers = nullptr) const;
  // GET with a Range header.
  std::string HttpRange(const std::string& path, const std::string& range, long* status,
                        const std::string& bearer) const;

 private:
  void Start(uint16_t ws_port, uint16_t http_port);
  // E2E_BACKENDS=postgres+redis in the test's environment: this
  // server runs on a fresh database of a PostgreSQL server the test
  // process starts and on a redis-server of its own, so the same e2e cases
  // cover the cluster backends (unless the test chose a storage backend).
  void AddBackendsFromEnvironment();
  std::shared_ptr<void> redis_;  // the RedisServer of this server, if any
  // Reaps the server if it already exited and records a test failure then.
  bool ExitedUnexpectedly();
  std::map<std::string, std::string> env_;
  std::string data_dir_;
  pid_t pid_ = -1;
  uint16_t ws_port_ = 0, http_port_ = 0, quic_port_ = 0;
  int rpc_port_ = 0;
  int hook_admin_port_ = 0;
};

// A raw WebSocket connection for protocol tests: send any bytes, read the
// next frame or the close.
class RawConnection {
 public:
  struct Event {
    bool closed = false;
    uint16_t close_code = 0;
    bool binary = false;
    std::string data;
  };
  RawConnection(uint16_t port, const std::string& target = "/ws");
  ~RawConnection();
  bool connected() const { return connected_; }
  void Send(const std::string& bytes, bool binary);
  // The next event, or nullopt after `timeout_ms` without one.
  std::optional<Event> Next(int64_t timeout_ms = 5000);

 private:
  std::unique_ptr<ClientTransport> transport_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  bool connected_ = false;
};

// Waits (on a condition, not a sleep) until `predicate` holds.
class Waiter {
 public:
  void Notify() {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  template <typename Predicate>
  bool WaitFor(Predicate predicate, int64_t timeout_ms = 10'000) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), predicate);
  }
  std::mutex& mutex() { return mu_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace flare::testing
