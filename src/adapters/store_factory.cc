// Storage backends registered by name; `storage.backend` picks one.
#include "ports/store_factory.h"

#include <filesystem>
#include <functional>
#include <map>

#include "adapters/memory/memory_device_store.h"
#include "adapters/memory/memory_store.h"
#include "adapters/postgres/postgres_device_store.h"
#include "adapters/postgres/postgres_store.h"
#include "adapters/sqlite/sqlite_device_store.h"
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

Result<std::shared_ptr<DeviceStore>> OpenDeviceStore(const Config& config) {
  if (config.storage_backend == "memory") {
    return std::shared_ptr<DeviceStore>(std::make_shared<MemoryDeviceStore>());
  }
  if (config.storage_backend == "postgres") {
    auto store = PostgresDeviceStore::Open(config.postgres_dsn);
    if (!store.ok()) return store.status();
    return std::shared_ptr<DeviceStore>(std::move(store).value());
  }
  if (config.storage_backend != "sqlite") {
    return InvalidArgument("storage.backend: unknown backend '" + config.storage_backend + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return IoError("cannot create data dir '" + config.data_dir + "': " + ec.message());
  auto store = SqliteDeviceStore::Open(config.data_dir + "/devices.db");
  if (!store.ok()) return store.status();
  return std::shared_ptr<DeviceStore>(std::move(store).value());
}

}  // namespace flare
