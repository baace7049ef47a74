// ObjectStore backends by name; `media.backend` picks one.
#include <functional>
#include <map>

#include "adapters/filesystem/fs_object_store.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/s3/s3_object_store.h"
#include "ports/store_factory.h"

namespace flare {
namespace {

using ObjectStoreFactory = std::function<Result<std::shared_ptr<ObjectStore>>(const Config&)>;

Result<std::shared_ptr<ObjectStore>> OpenFilesystem(const Config& config) {
  std::string root = config.media_root.empty() ? config.data_dir + "/media" : config.media_root;
  auto store = FsObjectStore::Open(root);
  if (!store.ok()) return Status(store.status().code(), "media.root: " + store.status().message());
  return std::shared_ptr<ObjectStore>(std::move(store).value());
}

Result<std::shared_ptr<ObjectStore>> OpenS3(const Config& config) {
  const std::pair<const char*, const std::string*> required[] = {
      {"media.s3.endpoint", &config.media_s3_endpoint},
      {"media.s3.bucket", &config.media_s3_bucket},
      {"media.s3.access_key", &config.media_s3_access_key},
      {"media.s3.secret_key", &config.media_s3_secret_key},
  };
  for (const auto& [key, value] : required) {
    if (value->empty()) {
      return InvalidArgument(std::string(key) + ": required with media.backend = \"s3\"");
    }
  }
  S3Options options;
  options.endpoint = config.media_s3_endpoint;
  options.bucket = config.media_s3_bucket;
  options.region = config.media_s3_region;
  options.access_key = config.media_s3_access_key;
  options.secret_key = config.media_s3_secret_key;
  auto store = S3ObjectStore::Open(options);
  if (!store.ok()) {
    return Status(store.status().code(), "media.s3: " + store.status().message());
  }
  return std::shared_ptr<ObjectStore>(std::move(store).value());
}

Result<std::shared_ptr<ObjectStore>> OpenMemory(const Config&) {
  return std::shared_ptr<ObjectStore>(std::make_shared<MemoryObjectStore>());
}

const std::map<std::string, ObjectStoreFactory>& Registry() {
  static const std::map<std::string, ObjectStoreFactory> registry = {
      {"filesystem", OpenFilesystem},
      {"s3", OpenS3},
      {"memory", OpenMemory},
  };
  return registry;
}

}  // namespace

Result<std::shared_ptr<ObjectStore>> OpenObjectStore(const Config& config) {
  auto it = Registry().find(config.media_backend);
  if (it == Registry().end()) {
    return InvalidArgument("media.backend: unknown backend '" + config.media_backend +
                           "' (filesystem, s3 or memory)");
  }
  return it->second(config);
}

}  // namespace flare
