// The MIME type of media bytes, from their first bytes (magic numbers),
// never from what a client claims; and matching against allowed-type
// lists such as "image/*,video/*,application/pdf".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace flare {

// How many leading bytes SniffMimeType looks at (more is ignored).
inline constexpr size_t kSniffBytes = 4096;

// image/png, image/jpeg, image/gif, image/webp, image/bmp, image/heic,
// application/pdf, video/mp4, video/quicktime, audio/mp4, video/webm,
// video/x-matroska, audio/ogg, video/ogg, audio/mpeg, audio/wav,
// audio/flac, text/plain (UTF-8 without control characters other than
// tab, newline, carriage return and form feed), else
// application/octet-stream.
std::string SniffMimeType(std::string_view head);

bool IsImageType(std::string_view mime);

// "type/subtype" or "type/*" (or "*/*"), comma-separated, spaces around
// items ignored. kInvalidArgument naming the first bad item; an empty
// list is allowed (nothing is).
Result<std::vector<std::string>> ParseMimePatterns(std::string_view list);
bool MimeAllowed(std::string_view mime, const std::vector<std::string>& patterns);

}  // namespace flare
