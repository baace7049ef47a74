// Builds the configured storage backend by name ("sqlite", "memory", "postgres").
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/result.h"
#include "ports/conversation_store.h"
#include "ports/device_store.h"
#include "ports/message_search.h"
#include "ports/media_store.h"
#include "ports/message_store.h"
#include "ports/object_store.h"
#include "ports/push_schedule_store.h"
#include "ports/settings_store.h"

namespace flare {

struct Stores {
  std::shared_ptr<MessageStore> messages;
  std::shared_ptr<ConversationStore> conversations;
  std::shared_ptr<MessageSearch> search;  // the same store's search over its messages
};

Result<Stores> OpenStores(const Config& config);

// The push devices and preferences of the same storage.backend: memory,
// <data_dir>/devices.db (SQLite), or the PostgreSQL database.
Result<std::shared_ptr<DeviceStore>> OpenDeviceStore(const Config& config);

// push-proxy's templates and scheduled pushes on the same storage.backend:
// memory, <data_dir>/push.db (SQLite), or the PostgreSQL database.
Result<std::shared_ptr<PushScheduleStore>> OpenPushScheduleStore(const Config& config);

// Versioned settings shared by every process of a deployment (the hook
// list of the admin API) on the same storage.backend: memory (this process
// only), <data_dir>/settings.db (SQLite), or the PostgreSQL database.
Result<std::shared_ptr<SettingsStore>> OpenSettingsStore(const Config& config);

// The media service's metadata on the same storage.backend: memory,
// <data_dir>/media.db (SQLite), or the PostgreSQL database (migration 9).
Result<std::shared_ptr<MediaStore>> OpenMediaStore(const Config& config);

// The media service's bytes by media.backend: "filesystem" (media.root,
// empty: <data_dir>/media), "s3" (media.s3.*: endpoint, bucket and keys
// are required) or "memory". kInvalidArgument naming the key at fault.
Result<std::shared_ptr<ObjectStore>> OpenObjectStore(const Config& config);

}  // namespace flare
