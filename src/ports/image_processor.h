// Port: what the media service needs of an image library: an image's
// dimensions and a smaller copy of it. The libvips adapter
// (adapters/vips/) is the one implementation; keeping it behind this
// header keeps libvips (and GLib) out of every other translation unit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace flare {

struct ImageSize {
  int32_t width = 0;
  int32_t height = 0;
};

struct Thumbnail {
  std::string bytes;
  std::string mime_type;  // image/jpeg or image/png
  ImageSize size;
};

class ImageProcessor {
 public:
  virtual ~ImageProcessor() = default;
  // Reads the header only. kInvalidArgument for bytes that are not an
  // image the library can decode.
  virtual Result<ImageSize> Measure(std::string_view bytes) = 0;
  // The image shrunk so that its longer side is at most `max_side`
  // pixels (never enlarged): JPEG for a JPEG source, PNG otherwise (keeps
  // transparency). kInvalidArgument for a corrupt image.
  virtual Result<Thumbnail> MakeThumbnail(std::string_view bytes, int max_side) = 0;
};

}  // namespace flare
