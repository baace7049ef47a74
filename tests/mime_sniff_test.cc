// Media types from magic bytes, and allowed-type lists.
#include <gtest/gtest.h>

#include "services/media/mime_sniff.h"

namespace flare {
namespace {

std::string Bytes(std::initializer_list<int> bytes, std::string tail = "") {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out + tail;
}

TEST(MimeSniff, MagicBytesNameTheType) {
  EXPECT_EQ(SniffMimeType("\x89PNG\r\n\x1A\n....IHDR"), "image/png");
  EXPECT_EQ(SniffMimeType(Bytes({0xFF, 0xD8, 0xFF, 0xE0}, "..JFIF")), "image/jpeg");
  EXPECT_EQ(SniffMimeType("GIF89a\x01\x00"), "image/gif");
  EXPECT_EQ(SniffMimeType("GIF87a\x01\x00"), "image/gif");
  EXPECT_EQ(SniffMimeType(Bytes({'R', 'I', 'F', 'F', 1, 2, 3, 4}, "WEBPVP8 ")), "image/webp");
  EXPECT_EQ(SniffMimeType(Bytes({'R', 'I', 'F', 'F', 1, 2, 3, 4}, "WAVEfmt ")), "audio/wav");
  EXPECT_EQ(SniffMimeType("%PDF-1.4\n%..."), "application/pdf");
  EXPECT_EQ(SniffMimeType(Bytes({0, 0, 0, 0x20}, "ftypisom\0\0\0\0")), "video/mp4");
  EXPECT_EQ(SniffMimeType(Bytes({0, 0, 0, 0x14}, "ftypqt  ")), "video/quicktime");
  EXPECT_EQ(SniffMimeType(Bytes({0, 0, 0, 0x20}, "ftypM4A ")), "audio/mp4");
  EXPECT_EQ(SniffMimeType(Bytes({0, 0, 0, 0x18}, "ftypheic")), "image/heic");
  EXPECT_EQ(SniffMimeType(Bytes({0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84}, "webm")),
            "video/webm");
  EXPECT_EQ(SniffMimeType(Bytes({0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x88}, "matroska")),
            "video/x-matroska");
  EXPECT_EQ(SniffMimeType(std::string("OggS\0\x02", 6) + "\x01vorbis"), "audio/ogg");
  EXPECT_EQ(SniffMimeType(std::string("OggS\0\x02", 6) + "\x80theora"), "video/ogg");
  EXPECT_EQ(SniffMimeType("ID3\x04\x00"), "audio/mpeg");
  EXPECT_EQ(SniffMimeType(Bytes({0xFF, 0xFB, 0x90, 0x64})), "audio/mpeg");
  EXPECT_EQ(SniffMimeType("fLaC\x00\x00\x00\x22"), "audio/flac");
}

TEST(MimeSniff, TextIsUtf8WithoutControlCharacters) {
  EXPECT_EQ(SniffMimeType("plain words\r\n\tand more"), "text/plain");
  EXPECT_EQ(SniffMimeType("gr\xC3\xBC\xC3\x9F dich \xF0\x9F\x98\x80"), "text/plain");
  EXPECT_EQ(SniffMimeType("BMW is a car, not a bitmap"), "text/plain");
  EXPECT_EQ(SniffMimeType(std::string("nul\0inside", 10)), "application/octet-stream");
  EXPECT_EQ(SniffMimeType("bad \xC3\x28 utf-8"), "application/octet-stream");
  EXPECT_EQ(SniffMimeType("ends cut \xE2\x82"), "application/octet-stream");
  // A multi-byte character cut by the sniffed prefix of a long text is fine.
  std::string long_text(kSniffBytes - 1, 'a');
  long_text += "\xE2\x82\xAC";
  EXPECT_EQ(SniffMimeType(long_text), "text/plain");
  EXPECT_EQ(SniffMimeType(""), "application/octet-stream");
  EXPECT_EQ(SniffMimeType(Bytes({0xFF, 0xFF, 0xFF})), "application/octet-stream");
}

TEST(MimeSniff, AllowedTypeListsMatchExactlyOrByMajorType) {
  auto patterns = ParseMimePatterns(" image/* , application/pdf,,text/plain ");
  ASSERT_TRUE(patterns.ok());
  EXPECT_EQ(patterns->size(), 3u);
  EXPECT_TRUE(MimeAllowed("image/png", *patterns));
  EXPECT_TRUE(MimeAllowed("application/pdf", *patterns));
  EXPECT_FALSE(MimeAllowed("application/pdfx", *patterns));
  EXPECT_FALSE(MimeAllowed("video/mp4", *patterns));
  EXPECT_FALSE(MimeAllowed("imagex/png", *patterns));
  EXPECT_TRUE(MimeAllowed("video/webm", *ParseMimePatterns("*/*")));
  EXPECT_FALSE(MimeAllowed("image/png", *ParseMimePatterns("")));
  for (const char* bad : {"image", "/png", "image/", "*/png", "a/b/c"}) {
    EXPECT_EQ(ParseMimePatterns(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace flare
