#include "services/media/mime_sniff.h"

#include <algorithm>
#include <cstdint>

namespace flare {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix, size_t at = 0) {
  return s.size() >= at + prefix.size() && s.substr(at, prefix.size()) == prefix;
}

uint8_t Byte(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

// ISO base media (MP4, QuickTime, HEIF): "ftyp" at offset 4, then the brand.
std::string IsoMediaType(std::string_view head) {
  if (!StartsWith(head, "ftyp", 4) || head.size() < 12) return {};
  std::string_view brand = head.substr(8, 4);
  if (brand == "qt  ") return "video/quicktime";
  if (brand == "M4A " || brand == "M4B ") return "audio/mp4";
  if (brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1") {
    return "image/heic";
  }
  return "video/mp4";
}

// Matroska/WebM: the EBML magic; the DocType says which.
std::string EbmlType(std::string_view head) {
  if (!StartsWith(head, "\x1A\x45\xDF\xA3")) return {};
  return head.find("webm") != std::string_view::npos ? "video/webm" : "video/x-matroska";
}

std::string OggType(std::string_view head) {
  if (!StartsWith(head, "OggS")) return {};
  return head.find("theora") != std::string_view::npos ? "video/ogg" : "audio/ogg";
}

// "BM", reserved zero bytes, then a DIB header of a known size (text
// beginning with "BM" is not a bitmap).
bool IsBmp(std::string_view head) {
  if (!StartsWith(head, "BM") || head.size() < 26) return false;
  for (size_t i = 6; i < 10; ++i) {
    if (Byte(head, i) != 0) return false;
  }
  uint32_t dib = Byte(head, 14) | Byte(head, 15) << 8 | Byte(head, 16) << 16 |
                 static_cast<uint32_t>(Byte(head, 17)) << 24;
  return dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 108 || dib == 124;
}

// MPEG audio: an ID3v2 tag, or a frame sync (11 set bits) with a valid
// version, layer and bitrate.
bool IsMp3(std::string_view head) {
  if (StartsWith(head, "ID3")) return true;
  if (head.size() < 3 || Byte(head, 0) != 0xFF || (Byte(head, 1) & 0xE0) != 0xE0) return false;
  int version = (Byte(head, 1) >> 3) & 3;  // 1 is reserved
  int layer = (Byte(head, 1) >> 1) & 3;    // 0 is reserved
  int bitrate = Byte(head, 2) >> 4;        // 15 is invalid
  return version != 1 && layer != 0 && bitrate != 15;
}

// Valid UTF-8 with no control characters but \t \n \f \r. A sequence cut
// by the end of `head` (the sniffed prefix of a longer text) is fine.
bool IsPlainText(std::string_view head) {
  if (head.empty()) return false;
  size_t i = 0;
  while (i < head.size()) {
    uint8_t c = Byte(head, i);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') return false;
      if (c == 0x7F) return false;
      ++i;
      continue;
    }
    int extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || c == 0xC0 || c == 0xC1 || c > 0xF4) return false;
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= head.size()) return head.size() >= kSniffBytes;  // cut by the prefix
      if ((Byte(head, i + k) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace

std::string SniffMimeType(std::string_view head) {
  head = head.substr(0, std::min(head.size(), kSniffBytes));
  if (StartsWith(head, "\x89PNG\r\n\x1A\n")) return "image/png";
  if (StartsWith(head, "\xFF\xD8\xFF")) return "image/jpeg";
  if (StartsWith(head, "GIF87a") || StartsWith(head, "GIF89a")) return "image/gif";
  if (StartsWith(head, "RIFF") && StartsWith(head, "WEBP", 8)) return "image/webp";
  if (StartsWith(head, "RIFF") && StartsWith(head, "WAVE", 8)) return "audio/wav";
  if (IsBmp(head)) return "image/bmp";
  if (StartsWith(head, "%PDF-")) return "application/pdf";
  if (StartsWith(head, "fLaC")) return "audio/flac";
  if (auto iso = IsoMediaType(head); !iso.empty()) return iso;
  if (auto ebml = EbmlType(head); !ebml.empty()) return ebml;
  if (auto ogg = OggType(head); !ogg.empty()) return ogg;
  if (IsMp3(head)) return "audio/mpeg";
  if (IsPlainText(head)) return "text/plain";
  return "application/octet-stream";
}

bool IsImageType(std::string_view mime) { return StartsWith(mime, "image/"); }

Result<std::vector<std::string>> ParseMimePatterns(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    start = comma + 1;
    if (item.empty()) continue;
    size_t slash = item.find('/');
    bool ok = slash != std::string_view::npos && slash > 0 && slash + 1 < item.size() &&
              item.find('/', slash + 1) == std::string_view::npos &&
              (item.substr(0, slash) != "*" || item == "*/*");
    if (!ok) {
      return InvalidArgument("media type '" + std::string(item) +
                             "' is not type/subtype or type/*");
    }
    out.emplace_back(item);
  }
  return out;
}

bool MimeAllowed(std::string_view mime, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p == "*/*" || p == mime) return true;
    if (p.size() > 2 && p.ends_with("/*") && StartsWith(mime, p.substr(0, p.size() - 1))) {
      return true;
    }
  }
  return false;
}

}  // namespace flare
