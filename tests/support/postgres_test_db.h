// Helpers for tests against the shared PostgreSQL test server: a fresh
// database per test and single statements on a connection of their own.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "support/postgres_server.h"

namespace flare::testing {

// A fresh database on the shared server; the test fails if there is none.
inline std::string FreshDatabase(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string error;
  auto* server = SharedPostgres(&error);
  if (server == nullptr) {
    ADD_FAILURE() << "no PostgreSQL server: " << error;
    return {};
  }
  auto dsn = server->CreateDatabase(prefix + "_" + std::to_string(::getpid()) + "_" +
                                    std::to_string(counter++));
  EXPECT_TRUE(dsn.ok()) << dsn.status().ToString();
  return dsn.ok() ? *dsn : std::string();
}

// Runs one statement on its own connection (to look behind the store) and
// returns the first column of its first row ("" if none).
inline std::string Query(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  PGresult* res = PQexec(conn, sql.c_str());
  std::string out;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) out = PQgetvalue(res, 0, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(res);
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

}  // namespace flare::testing
