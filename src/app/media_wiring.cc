#include "app/media_wiring.h"

#include <spdlog/spdlog.h>

#include "adapters/s3/s3_object_store.h"
#include "adapters/vips/vips_image_processor.h"
#include "ports/store_factory.h"
#include "services/media/mime_sniff.h"

namespace flare {

Result<MediaServiceOptions> MediaOptionsFrom(const Config& config) {
  MediaServiceOptions o;
  auto types = ParseMimePatterns(config.media_allowed_types);
  if (!types.ok()) return InvalidArgument("media.allowed_types: " + types.status().message());
  o.allowed_types = std::move(types).value();
  o.max_bytes = config.media_max_bytes;
  o.max_single_upload_bytes = config.media_max_single_upload_bytes;
  o.max_part_bytes = config.media_max_part_bytes;
  o.min_part_bytes = config.media_backend == "s3" ? kS3MinPartBytes : 0;
  o.thumbnail_px = static_cast<int>(config.media_thumbnail_px);
  o.max_thumbnail_source_bytes = static_cast<uint64_t>(config.media_max_single_upload_bytes);
  o.presign_max_ttl_s = config.media_presign_max_ttl_s;
  o.orphan_grace_ms = config.media_orphan_grace_s * 1000;
  o.cleanup_interval_ms = config.media_cleanup_interval_s * 1000;
  return o;
}

Result<std::unique_ptr<MediaService>> OpenMediaService(const Config& config, const Clock& clock,
                                                       const std::string& jwt_secret,
                                                       std::shared_ptr<SettingsStore> settings,
                                                       bool delete_orphans) {
  auto options = MediaOptionsFrom(config);
  if (!options.ok()) return options.status();
  options->delete_orphans = delete_orphans;
  if (options->min_part_bytes > 0 &&
      static_cast<uint64_t>(config.media_max_part_bytes) < options->min_part_bytes) {
    return InvalidArgument("media.max_part_bytes: below S3's 5 MiB minimum part size");
  }
  auto objects = OpenObjectStore(config);
  if (!objects.ok()) return objects.status();
  auto store = OpenMediaStore(config);
  if (!store.ok()) return store.status();
  MediaServiceDeps deps;
  deps.objects = std::move(objects).value();
  deps.store = std::move(store).value();
  deps.settings = std::move(settings);
  deps.clock = &clock;
  deps.jwt_secret = jwt_secret;
  auto images = MakeVipsImageProcessor();
  if (images.ok()) {
    deps.images = std::move(images).value();
  } else {
    spdlog::warn("media: no thumbnails or image sizes: {}", images.status().ToString());
  }
  return std::make_unique<MediaService>(std::move(deps), std::move(options).value());
}

}  // namespace flare
