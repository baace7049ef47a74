// Test support: a real, valid PNG of any size (RGB, a colour gradient),
// encoded here without a library: zlib "stored" blocks, CRC-32 and
// Adler-32 written out. Enough for a decoder to read it back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace flare::testing {

namespace png_detail {

inline uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

inline void Be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline void Chunk(std::string& out, const std::string& type, const std::string& data) {
  Be32(out, static_cast<uint32_t>(data.size()));
  out += type;
  out += data;
  Be32(out, Crc32(type + data));
}

// A zlib stream of `raw` in stored (uncompressed) blocks.
inline std::string ZlibStored(const std::string& raw) {
  std::string out = "\x78\x01";
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(65535, raw.size() - pos);
    bool last = pos + n == raw.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<char>(n & 0xFF));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xFF));
    out.push_back(static_cast<char>((~n >> 8) & 0xFF));
    out.append(raw, pos, n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  Be32(out, (b << 16) | a);
  return out;
}

}  // namespace png_detail

inline std::string MakePng(uint32_t width, uint32_t height) {
  using namespace png_detail;
  std::string out = "\x89PNG\r\n\x1A\n";
  std::string ihdr;
  Be32(ihdr, width);
  Be32(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no interlace
  Chunk(out, "IHDR", ihdr);
  std::string raw;
  for (uint32_t y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    for (uint32_t x = 0; x < width; ++x) {
      raw.push_back(static_cast<char>(x * 255 / (width ? width : 1)));
      raw.push_back(static_cast<char>(y * 255 / (height ? height : 1)));
      raw.push_back(static_cast<char>(128));
    }
  }
  Chunk(out, "IDAT", ZlibStored(raw));
  Chunk(out, "IEND", "");
  return out;
}

}  // namespace flare::testing
