// ImageProcessor on libvips' C API (8.14): header reads for dimensions,
// vips_thumbnail_buffer for thumbnails. libvips is started once per
// process (VIPS_INIT), with its operation cache off (every upload is new
// bytes; the cache would only hold them) and loaders libvips marks
// untrusted blocked (they were not written for hostile input).
//
// Images above kMaxPixels (width x height from the header) are refused
// before decoding, so a small file that claims a huge canvas (a
// decompression bomb) cannot exhaust memory.
#pragma once

#include <memory>

#include "ports/image_processor.h"

namespace flare {

inline constexpr int64_t kMaxImagePixels = 100'000'000;

// kInternal when libvips does not start.
Result<std::unique_ptr<ImageProcessor>> MakeVipsImageProcessor();

}  // namespace flare
