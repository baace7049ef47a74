// A throwaway PostgreSQL 15 server for tests: initdb in a temporary
// directory, a free port on 127.0.0.1, its unix socket in that directory,
// stopped and removed on destruction. Needs root (it runs the server as the
// `postgres` user) and the server binaries in /usr/lib/postgresql/15/bin.
#pragma once

#include <string>

#include "common/result.h"

namespace flare::testing {

class PostgresServer {
 public:
  PostgresServer() = default;
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer() { Stop(); }

  // Why this machine cannot run one (not root, no binaries); empty if it can.
  static std::string Unsupported();

  Status Start();
  void Stop();
  // Stops the server as a crash would (immediate mode, no shutdown
  // checkpoint) and starts it again on the same port and data.
  Status Restart();

  // Creates a fresh database and returns its DSN.
  Result<std::string> CreateDatabase(const std::string& name);
  std::string Dsn(const std::string& database) const;
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
};

// One server per test process, started on first use.
PostgresServer* SharedPostgres(std::string* error);

}  // namespace flare::testing
