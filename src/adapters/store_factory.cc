// Storage backends registered by name; `storage.backend` picks one.
#include "ports/store_factory.h"

#include <filesystem>
#include <functional>
#include <map>

#include "adapters/memory/memory_store.h"
#include "adapters/postgres/postgres_store.h"
#include "adapters/sqlite/sqlite_store.h"

namespace flare {
namespace {

using StoreFactory = std::function<Result<Stores>(const Config&)>;

Result<Stores> OpenSqlite(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return IoError("cannot create data dir '" + config.data_dir + "': " + ec.message());
  SqliteOptions options;
  options.durability = config.durability;
  options.checkpoint_wal_bytes = config.checkpoint_wal_bytes;
  auto store = SqliteStore::Open(config.data_dir + "/flare.db", options);
  if (!store.ok()) return store.status();
  return Stores{*store, *store};
}

// Fails at start-up (after the DSN's connect_timeout) with the server's
// host and port when it cannot be reached.
Result<Stores> OpenPostgres(const Config& config) {
  PostgresOptions options;
  options.dsn = config.postgres_dsn;
  options.retention_days = static_cast<int>(config.postgres_retention_days);
  auto store = PostgresStore::Open(options);
  if (!store.ok()) return store.status();
  return Stores{*store, *store};
}

Result<Stores> OpenMemory(const Config&) {
  auto store = std::make_shared<MemoryStore>();
  return Stores{store, store};
}

const std::map<std::string, StoreFactory>& Registry() {
  static const std::map<std::string, StoreFactory> registry = {
      {"sqlite", OpenSqlite},
      {"memory", OpenMemory},
      {"postgres", OpenPostgres},
  };
  return registry;
}

}  // namespace

Result<Stores> OpenStores(const Config& config) {
  auto it = Registry().find(config.storage_backend);
  if (it == Registry().end()) {
    return InvalidArgument("storage.backend: unknown backend '" + config.storage_backend + "'");
  }
  return it->second(config);
}

}  // namespace flare
