// MediaService over the S3 ObjectStore adapter against s3rver
// (tests/support/s3rver.h): an image upload with its thumbnail, ranged
// reads, deduplication and orphan cleanup all go through S3 requests.
// Multipart is not run here: s3rver lacks ListParts, which the adapter's
// Complete needs (see object_store_s3test.cc).
#include <gtest/gtest.h>

#include "adapters/memory/memory_media_store.h"
#include "adapters/memory/memory_settings_store.h"
#include "adapters/s3/s3_object_store.h"
#include "adapters/vips/vips_image_processor.h"
#include "services/media/media_service.h"
#include "support/s3rver.h"
#include "support/test_png.h"

namespace flare {
namespace {

TEST(MediaServiceOnS3, UploadsReadsDeduplicatesAndCleansUpThroughS3) {
  testing::S3rverProcess server({"media"});
  ASSERT_NE(server.port(), 0) << "s3rver did not start: run scripts/setup";
  S3Options s3;
  s3.endpoint = server.endpoint();
  s3.bucket = "media";
  s3.access_key = testing::S3rverProcess::kAccessKey;
  s3.secret_key = testing::S3rverProcess::kSecretKey;
  auto opened = S3ObjectStore::Open(s3);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::shared_ptr<ObjectStore> objects = std::move(opened).value();
  auto images = MakeVipsImageProcessor();
  ASSERT_TRUE(images.ok());
  ManualClock clock;
  MediaServiceOptions options;
  options.orphan_grace_ms = 1000;
  options.min_part_bytes = kS3MinPartBytes;
  MediaService media(
      {objects, std::make_shared<MemoryMediaStore>(), std::make_shared<MemorySettingsStore>(),
       std::move(images).value(), &clock, "secret"},
      options);

  std::string png = testing::MakePng(600, 300);
  auto info = media.Upload("acme@eu", "alice", png);  // '@' is escaped in the object key
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->mime_type, "image/png");
  EXPECT_EQ(info->width, 600);
  ASSERT_TRUE(info->has_thumbnail);
  auto keys = objects->List("media/", "", 10);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->objects.size(), 2u);
  EXPECT_EQ(keys->objects[0].key, "media/tacme_40eu/" + info->media_id);
  EXPECT_EQ(keys->objects[0].size, png.size());

  auto range = media.Read("acme@eu", info->media_id, ByteRange{1, 3});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->bytes, "PNG");
  EXPECT_EQ(range->total_size, png.size());
  auto thumb = media.Read("acme@eu", info->media_id, std::nullopt, MediaVariant::kThumbnail);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ(thumb->bytes.substr(1, 3), "PNG");
  EXPECT_EQ(
      media.Read("acme@eu", info->media_id, ByteRange{png.size(), std::nullopt}).status().detail(),
      kMediaRangeNotSatisfiable);

  auto again = media.Upload("acme@eu", "bob", png);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->media_id, info->media_id);
  EXPECT_EQ(objects->List("media/", "", 10)->objects.size(), 2u);

  clock.Advance(1001);
  auto report = media.RunCleanup();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->media_deleted, 1);
  EXPECT_TRUE(objects->List("media/", "", 10)->objects.empty());
}

}  // namespace
}  // namespace flare
