// Storage backends registered by name; `storage.backend` picks one.
#include "ports/store_factory.h"

#include <filesystem>
#include <functional>
#include <map>

#include "adapters/memory/memory_device_store.h"
#include "adapters/memory/memory_media_store.h"
#include "adapters/memory/memory_push_schedule_store.h"
#include "adapters/memory/memory_settings_store.h"
#include "adapters/memory/memory_store.h"
#include "adapters/postgres/postgres_device_store.h"
#include "adapters/postgres/postgres_media_store.h"
#include "adapters/postgres/postgres_push_schedule_store.h"
#include "adapters/postgres/postgres_settings_store.h"
#include "adapters/postgres/postgres_store.h"
#include "adapters/sqlite/sqlite_device_store.h"
#include "adapters/sqlite/sqlite_media_store.h"
#include "adapters/sqlite/sqlite_push_schedule_store.h"
#include "adapters/sqlite/sqlite_settings_store.h"
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
  options.cache_mib = config.sqlite_cache_mib;
  auto store = SqliteStore::Open(config.data_dir + "/flare.db", options);
  if (!store.ok()) return store.status();
  return Stores{*store, *store, *store};
}

// Fails at start-up (after the DSN's connect_timeout) with the server's
// host and port when it cannot be reached.
Result<Stores> OpenPostgres(const Config& config) {
  PostgresOptions options;
  options.dsn = config.postgres_dsn;
  options.retention_days = static_cast<int>(config.postgres_retention_days);
  auto store = PostgresStore::Open(options);
  if (!store.ok()) return store.status();
  return Stores{*store, *store, *store};
}

Result<Stores> OpenMemory(const Config&) {
  auto store = std::make_shared<MemoryStore>();
  return Stores{store, store, store};
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

namespace {

// A store beside the message store, on the same storage.backend: memory,
// its own SQLite file in data_dir (apart from the message store's writer),
// or the PostgreSQL database (its tables come with the schema migrations).
template <typename Port, typename Memory, typename Sqlite, typename Postgres>
Result<std::shared_ptr<Port>> OpenSideStore(const Config& config, const std::string& file) {
  if (config.storage_backend == "memory") {
    return std::shared_ptr<Port>(std::make_shared<Memory>());
  }
  if (config.storage_backend == "postgres") {
    auto store = Postgres::Open(config.postgres_dsn);
    if (!store.ok()) return store.status();
    return std::shared_ptr<Port>(std::move(store).value());
  }
  if (config.storage_backend != "sqlite") {
    return InvalidArgument("storage.backend: unknown backend '" + config.storage_backend + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return IoError("cannot create data dir '" + config.data_dir + "': " + ec.message());
  auto store = Sqlite::Open(config.data_dir + "/" + file);
  if (!store.ok()) return store.status();
  return std::shared_ptr<Port>(std::move(store).value());
}

}  // namespace

Result<std::shared_ptr<DeviceStore>> OpenDeviceStore(const Config& config) {
  return OpenSideStore<DeviceStore, MemoryDeviceStore, SqliteDeviceStore, PostgresDeviceStore>(
      config, "devices.db");
}

Result<std::shared_ptr<PushScheduleStore>> OpenPushScheduleStore(const Config& config) {
  return OpenSideStore<PushScheduleStore, MemoryPushScheduleStore, SqlitePushScheduleStore,
                       PostgresPushScheduleStore>(config, "push.db");
}

Result<std::shared_ptr<SettingsStore>> OpenSettingsStore(const Config& config) {
  return OpenSideStore<SettingsStore, MemorySettingsStore, SqliteSettingsStore,
                       PostgresSettingsStore>(config, "settings.db");
}

Result<std::shared_ptr<MediaStore>> OpenMediaStore(const Config& config) {
  return OpenSideStore<MediaStore, MemoryMediaStore, SqliteMediaStore, PostgresMediaStore>(
      config, "media.db");
}

}  // namespace flare
