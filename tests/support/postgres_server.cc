#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "support/free_port.h"

namespace flare::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

Status Run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc != 0) return Internal("command failed (" + std::to_string(rc) + "): " + cmd);
  return Status::Ok();
}

}  // namespace

std::string PostgresServer::Unsupported() {
  if (::geteuid() != 0) return "PostgreSQL tests run the server as root's postgres user";
  if (!std::filesystem::exists(std::string(kBin) + "/initdb")) {
    return std::string("no PostgreSQL server binaries in ") + kBin;
  }
  return {};
}

Status PostgresServer::Start() {
  std::string unsupported = Unsupported();
  if (!unsupported.empty()) return Unavailable(unsupported);
  char tmpl[] = "/tmp/flare_pg_XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return IoError("mkdtemp failed");
  dir_ = tmpl;
  std::string bin = kBin;
  std::string log = dir_ + "/log";
  if (Status st = Run("chown postgres:postgres " + dir_ + " && chmod 700 " + dir_); !st.ok()) {
    return st;
  }
  if (Status st = Run("runuser -u postgres -- " + bin + "/initdb -D " + dir_ +
                      "/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync > " + log +
                      ".initdb 2>&1");
      !st.ok()) {
    return st;
  }
  // A port taken between FreePort() and the start makes pg_ctl fail: try a
  // few ports.
  for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
    port_ = FreePort();
    Status st = Run("runuser -u postgres -- " + bin + "/pg_ctl -D " + dir_ + "/data -l " + log +
                    " -w -t 30 -o \"-p " + std::to_string(port_) + " -k " + dir_ +
                    " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off\" "
                    "start > /dev/null 2>&1");
    running_ = st.ok();
  }
  if (!running_) return Unavailable("PostgreSQL did not start; see " + log);
  return Status::Ok();
}

Status PostgresServer::Restart() {
  if (!running_) return Unavailable("PostgreSQL is not running");
  return Run("runuser -u postgres -- " + std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -l " +
             dir_ + "/log -m immediate -w -t 30 restart > /dev/null 2>&1");
}

void PostgresServer::Stop() {
  if (running_) {
    (void)Run("runuser -u postgres -- " + std::string(kBin) + "/pg_ctl -D " + dir_ +
              "/data -m immediate -w stop > /dev/null 2>&1");
    running_ = false;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string PostgresServer::Dsn(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database +
         " connect_timeout=5";
}

Result<std::string> PostgresServer::CreateDatabase(const std::string& name) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(Dsn("postgres").c_str()),
                                                    &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
  }
  PGresult* res = PQexec(conn.get(), ("CREATE DATABASE " + name).c_str());
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string err = PQresultErrorMessage(res);
  PQclear(res);
  if (!ok) return Internal("CREATE DATABASE " + name + ": " + err);
  return Dsn(name);
}

PostgresServer* SharedPostgres(std::string* error) {
  static PostgresServer* server = nullptr;
  static std::string start_error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto* s = new PostgresServer();  // stopped at exit
    Status st = s->Start();
    if (st.ok()) {
      server = s;
      std::atexit([] { delete server; });
    } else {
      start_error = st.ToString();
      delete s;
    }
  }
  if (error != nullptr) *error = start_error;
  return server;
}

}  // namespace flare::testing
