// The media service built from config ([media]): its ObjectStore by
// media.backend, its MediaStore on storage.backend (<data_dir>/media.db
// with SQLite), thumbnails by libvips, limits in the SettingsStore, and
// presigned URLs keyed from the JWT secret. The embedded server owns one;
// a media role process would build it the same way.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "ports/settings_store.h"
#include "services/media/media_service.h"

namespace flare {

// kInvalidArgument naming media.allowed_types when it does not parse.
Result<MediaServiceOptions> MediaOptionsFrom(const Config& config);

// Not started: the owner calls Start (the reference and cleanup thread)
// and Stop. Without libvips (it failed to start) media get no dimensions
// or thumbnails, which is logged.
Result<std::unique_ptr<MediaService>> OpenMediaService(const Config& config, const Clock& clock,
                                                       const std::string& jwt_secret,
                                                       std::shared_ptr<SettingsStore> settings,
                                                       bool delete_orphans = true);

}  // namespace flare
