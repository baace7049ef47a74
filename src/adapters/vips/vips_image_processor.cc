#include "adapters/vips/vips_image_processor.h"

#include <spdlog/spdlog.h>
#include <vips/vips.h>

#include <mutex>
#include <string>

namespace flare {
namespace {

// libvips reports errors in a per-thread buffer: take its text and clear it.
std::string TakeVipsError() {
  std::string text = vips_error_buffer();
  vips_error_clear();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  // Some loaders only warn (on GLib's log) and leave the buffer empty.
  return text.empty() ? "libvips could not read it" : text;
}

struct ImageDeleter {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, ImageDeleter>;

// libvips' loaders warn about damaged files on GLib's log (stderr by
// default); uploads of damaged images are expected, so these go to the
// debug log instead.
void LogVipsMessage(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  spdlog::debug("libvips ({}): {}", domain ? domain : "", message ? message : "");
}

Status StartVips() {
  static std::once_flag once;
  static bool started = false;
  std::call_once(once, [] {
    if (VIPS_INIT("flare") != 0) return;
    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS",
                      static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                                                  G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG),
                      LogVipsMessage, nullptr);
    started = true;
  });
  return started ? Status::Ok() : Internal("libvips did not start: " + TakeVipsError());
}

class VipsImageProcessor final : public ImageProcessor {
 public:
  Result<ImageSize> Measure(std::string_view bytes) override {
    auto image = Open(bytes);
    if (!image.ok()) return image.status();
    return ImageSize{vips_image_get_width(image->get()), vips_image_get_height(image->get())};
  }

  Result<Thumbnail> MakeThumbnail(std::string_view bytes, int max_side) override {
    auto size = Measure(bytes);
    if (!size.ok()) return size.status();
    VipsImage* out = nullptr;
    // The buffer is only read; libvips' signature lacks the const.
    void* data = const_cast<char*>(bytes.data());
    if (vips_thumbnail_buffer(data, bytes.size(), &out, max_side, "height", max_side, "size",
                              VIPS_SIZE_DOWN, nullptr) != 0) {
      return InvalidArgument("image cannot be shrunk: " + TakeVipsError());
    }
    ImagePtr thumb(out);
    const char* loader = vips_foreign_find_load_buffer(bytes.data(), bytes.size());
    const bool jpeg = loader != nullptr && std::string(loader).find("Jpeg") != std::string::npos;
    void* encoded = nullptr;
    size_t length = 0;
    int rc = jpeg ? vips_jpegsave_buffer(thumb.get(), &encoded, &length, "Q", 80, nullptr)
                  : vips_pngsave_buffer(thumb.get(), &encoded, &length, nullptr);
    if (rc != 0) return InvalidArgument("thumbnail cannot be encoded: " + TakeVipsError());
    Thumbnail result;
    result.bytes.assign(static_cast<const char*>(encoded), length);
    g_free(encoded);
    result.mime_type = jpeg ? "image/jpeg" : "image/png";
    result.size = {vips_image_get_width(thumb.get()), vips_image_get_height(thumb.get())};
    return result;
  }

 private:
  // Reads the header (libvips decodes lazily) and checks the pixel count.
  static Result<ImagePtr> Open(std::string_view bytes) {
    if (vips_foreign_find_load_buffer(bytes.data(), bytes.size()) == nullptr) {
      vips_error_clear();
      return InvalidArgument("not an image libvips can read");
    }
    VipsImage* image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
    if (image == nullptr) return InvalidArgument("image header unreadable: " + TakeVipsError());
    ImagePtr owned(image);
    int64_t pixels = int64_t{vips_image_get_width(image)} * int64_t{vips_image_get_height(image)};
    if (pixels > kMaxImagePixels) {
      return InvalidArgument("image of " + std::to_string(pixels) + " pixels is above the " +
                             std::to_string(kMaxImagePixels) + " pixel limit");
    }
    return owned;
  }
};

}  // namespace

Result<std::unique_ptr<ImageProcessor>> MakeVipsImageProcessor() {
  FLARE_RETURN_IF_ERROR(StartVips());
  return std::unique_ptr<ImageProcessor>(std::make_unique<VipsImageProcessor>());
}

}  // namespace flare
