// MediaService on the memory MediaStore and SettingsStore, a ManualClock,
// libvips, and each local ObjectStore (memory, filesystem): uploads,
// sniffing, deduplication, limits, ranges, thumbnails, presigned URLs,
// multipart uploads, references and orphan cleanup.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "adapters/filesystem/fs_object_store.h"
#include "adapters/memory/memory_media_store.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/memory/memory_settings_store.h"
#include "adapters/vips/vips_image_processor.h"
#include "gtest/gtest.h"
#include "services/media/media_crypto.h"
#include "services/media/media_references.h"
#include "services/media/media_service.h"
#include "support/test_png.h"

namespace flare {
namespace {

using ::flare::testing::MakePng;

constexpr int64_t kGraceMs = 60'000;
constexpr int64_t kIntervalMs = 10'000;

std::shared_ptr<ObjectStore> OpenObjects(const std::string& backend) {
  if (backend == "memory") return std::make_shared<MemoryObjectStore>();
  static int counter = 0;
  std::string dir = ::testing::TempDir() + "/flare_media_" + std::to_string(::getpid()) + "_" +
                    std::to_string(counter++);
  std::filesystem::remove_all(dir);
  auto store = FsObjectStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::shared_ptr<ObjectStore>(std::move(store).value()) : nullptr;
}

CommittedMessage MessageWith(const std::string& conv, int64_t seq,
                             const std::vector<std::string>& urls) {
  CommittedMessage cm;
  cm.stored.tenant = "t1";
  cm.stored.message.set_conversation_id(conv);
  cm.stored.message.set_seq(seq);
  for (const auto& url : urls) cm.stored.message.add_attachments()->set_url(url);
  return cm;
}

CommittedMessage RecallOf(const std::string& conv, int64_t seq, int64_t target) {
  CommittedMessage cm;
  cm.stored.tenant = "t1";
  cm.stored.message.set_conversation_id(conv);
  cm.stored.message.set_seq(seq);
  cm.stored.message.set_type(pb::MESSAGE_TYPE_EVENT);
  cm.stored.message.mutable_event()->set_target_seq(target);
  cm.stored.message.mutable_event()->mutable_recall();
  return cm;
}

class MediaServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  MediaServiceTest() { Rebuild({}); }

  void Rebuild(MediaServiceOptions options) {
    media_.reset();
    options.orphan_grace_ms = kGraceMs;
    options.cleanup_interval_ms = kIntervalMs;
    if (!objects_) objects_ = OpenObjects(GetParam());
    auto images = MakeVipsImageProcessor();
    EXPECT_TRUE(images.ok()) << images.status().ToString();
    MediaServiceDeps deps{
        objects_,
        store_,
        settings_,
        images.ok() ? std::shared_ptr<ImageProcessor>(std::move(images).value()) : nullptr,
        &clock_,
        "jwt-secret"};
    media_ = std::make_unique<MediaService>(std::move(deps), options);
  }

  // Keys of every object the service stored.
  std::vector<std::string> ObjectKeys() {
    auto page = objects_->List("media/", "", 1000);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> keys;
    if (page.ok()) {
      for (const auto& o : page->objects) keys.push_back(o.key);
    }
    return keys;
  }

  void Refer(const std::vector<CommittedMessage>& messages) {
    MediaReferenceListener listener(*media_, nullptr);
    std::vector<CommittedMessage> copy = messages;
    listener.OnStored(copy);
    media_->ApplyReferenceChanges();
  }

  ManualClock clock_;
  std::shared_ptr<ObjectStore> objects_;
  std::shared_ptr<MemoryMediaStore> store_ = std::make_shared<MemoryMediaStore>();
  std::shared_ptr<MemorySettingsStore> settings_ = std::make_shared<MemorySettingsStore>();
  std::unique_ptr<MediaService> media_;
};

INSTANTIATE_TEST_SUITE_P(ObjectStores, MediaServiceTest, ::testing::Values("memory", "filesystem"),
                         [](const auto& info) { return info.param; });

TEST_P(MediaServiceTest, AnImageIsMeasuredAndGetsAThumbnailWithinThumbnailPx) {
  std::string png = MakePng(400, 200);
  auto info = media_->Upload("t1", "alice", png);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->mime_type, "image/png");
  EXPECT_EQ(info->width, 400);
  EXPECT_EQ(info->height, 200);
  EXPECT_EQ(info->size, png.size());
  EXPECT_EQ(info->sha256, media::Sha256Hex(png));
  EXPECT_EQ(info->owner, "alice");
  EXPECT_EQ(info->url(), "/v1/media/" + info->media_id);
  ASSERT_TRUE(info->has_thumbnail);
  auto thumb = media_->Read("t1", info->media_id, std::nullopt, MediaVariant::kThumbnail);
  ASSERT_TRUE(thumb.ok()) << thumb.status().ToString();
  EXPECT_EQ(thumb->mime_type, "image/png");
  EXPECT_EQ(thumb->total_size, info->thumbnail_size);
  auto images = MakeVipsImageProcessor();
  ASSERT_TRUE(images.ok());
  auto size = (*images)->Measure(thumb->bytes);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(size->width, 256);  // media.thumbnail_px's default
  EXPECT_EQ(size->height, 128);
  EXPECT_EQ(ObjectKeys().size(), 2u);  // the image and its thumbnail
}

TEST_P(MediaServiceTest, ASmallImageIsNotEnlarged) {
  auto info = media_->Upload("t1", "alice", MakePng(20, 10));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto thumb = media_->Read("t1", info->media_id, std::nullopt, MediaVariant::kThumbnail);
  ASSERT_TRUE(thumb.ok());
  auto images = MakeVipsImageProcessor();
  auto size = (*images)->Measure(thumb->bytes);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->width, 20);
  EXPECT_EQ(size->height, 10);
}

TEST_P(MediaServiceTest, ACorruptImageUploadsWithoutThumbnailOrSize) {
  std::string png = MakePng(64, 64);
  std::string corrupt = png.substr(0, 16) + std::string(200, '\x5a');  // a PNG magic, then junk
  auto info = media_->Upload("t1", "alice", corrupt);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->mime_type, "image/png");
  EXPECT_FALSE(info->has_thumbnail);
  EXPECT_EQ(info->width, 0);
  auto thumb = media_->Read("t1", info->media_id, std::nullopt, MediaVariant::kThumbnail);
  EXPECT_EQ(thumb.status().code(), Code::kNotFound);
  EXPECT_EQ(media_->Read("t1", info->media_id)->bytes, corrupt);
}

TEST_P(MediaServiceTest, TheSameBytesTwiceAreOneMediaPerTenant) {
  std::string text = "hello, media\n";
  auto first = media_->Upload("t1", "alice", text);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->mime_type, "text/plain");
  clock_.Advance(1000);
  auto second = media_->Upload("t1", "bob", text);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->media_id, first->media_id);
  EXPECT_EQ(second->owner, "alice");
  EXPECT_EQ(ObjectKeys().size(), 1u);
  // The second upload restarted the grace.
  EXPECT_EQ(store_->Get("t1", first->media_id)->unreferenced_since_ms, clock_.NowMs());
  auto other_tenant = media_->Upload("t2", "carol", text);
  ASSERT_TRUE(other_tenant.ok());
  EXPECT_NE(other_tenant->media_id, first->media_id);
  EXPECT_EQ(media_->Info("t2", first->media_id).status().code(), Code::kNotFound);
  EXPECT_EQ(ObjectKeys().size(), 2u);
}

TEST_P(MediaServiceTest, ReadsServeByteRangesAndRefuseOnesPastTheEnd) {
  std::string text = "0123456789";
  auto info = media_->Upload("t1", "alice", text);
  ASSERT_TRUE(info.ok());
  auto whole = media_->Read("t1", info->media_id);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->bytes, text);
  EXPECT_EQ(whole->total_size, 10u);
  EXPECT_EQ(whole->mime_type, "text/plain");
  auto middle = media_->Read("t1", info->media_id, ByteRange{2, 3});
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(middle->bytes, "234");
  EXPECT_EQ(middle->offset, 2u);
  EXPECT_EQ(middle->total_size, 10u);
  EXPECT_EQ(media_->Read("t1", info->media_id, ByteRange{7, 100})->bytes, "789");
  EXPECT_EQ(media_->Read("t1", info->media_id, ByteRange{7, std::nullopt})->bytes, "789");
  auto past = media_->Read("t1", info->media_id, ByteRange{10, 1});
  EXPECT_EQ(past.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(past.status().detail(), kMediaRangeNotSatisfiable);
  EXPECT_EQ(media_->Read("t1", "01HZZZZZZZZZZZZZZZZZZZZZZZ").status().code(), Code::kNotFound);
}

TEST_P(MediaServiceTest, TheTypeComesFromTheBytesAndMustBeAllowed) {
  std::string exe = std::string(
                        "\x7f"
                        "ELF\x02\x01\x01",
                        7) +
                    std::string(50, '\0');
  auto refused = media_->Upload("t1", "alice", exe);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().detail(), kMediaTypeNotAllowed);
  EXPECT_NE(refused.status().message().find("application/octet-stream"), std::string::npos);
  auto pdf = media_->Upload("t1", "alice", "%PDF-1.7\n...");
  ASSERT_TRUE(pdf.ok());
  EXPECT_EQ(pdf->mime_type, "application/pdf");
  EXPECT_TRUE(ObjectKeys().size() == 1u);
  EXPECT_EQ(media_->Upload("t1", "alice", "").status().code(), Code::kInvalidArgument);
}

TEST_P(MediaServiceTest, TenantLimitsAreSavedAndOverrideTheDefaults) {
  MediaServiceOptions options;
  options.max_bytes = 1000;
  options.max_single_upload_bytes = 500;
  Rebuild(options);
  auto too_big = media_->Upload("t1", "alice", std::string(501, 'a'));
  EXPECT_EQ(too_big.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(too_big.status().detail(), kMediaTooLarge);

  TenantMediaLimits limits;
  limits.max_bytes = 100;
  limits.allowed_types = "image/*";
  ASSERT_TRUE(media_->SetTenantLimits("t1", limits).ok());
  auto saved = settings_->Get("media_limits/t1");
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->version, 1);
  EXPECT_NE(saved->value.find("\"max_bytes\":100"), std::string::npos) << saved->value;
  EXPECT_EQ(media_->Upload("t1", "alice", std::string(101, 'a')).status().detail(), kMediaTooLarge);
  EXPECT_EQ(media_->Upload("t1", "alice", "text").status().detail(), kMediaTypeNotAllowed);
  EXPECT_TRUE(media_->Upload("t2", "alice", "text").ok());  // other tenants keep the defaults
  EXPECT_TRUE(media_->Upload("t1", "alice", MakePng(4, 4).substr(0, 90)).ok());

  // Above the deployment's cap: capped.
  limits = {};
  limits.max_bytes = 1 << 30;
  ASSERT_TRUE(media_->SetTenantLimits("t1", limits).ok());
  EXPECT_EQ(media_->LimitsFor("t1")->max_bytes, 1000);
  EXPECT_EQ(media_->TenantLimits("t1")->max_bytes, 1 << 30);
  EXPECT_TRUE(media_->Upload("t1", "alice", "text again").ok());  // types back to default

  limits.max_bytes = 0;
  EXPECT_EQ(media_->SetTenantLimits("t1", limits).code(), Code::kInvalidArgument);
  limits = {};
  limits.allowed_types = "image";
  EXPECT_EQ(media_->SetTenantLimits("t1", limits).code(), Code::kInvalidArgument);
  EXPECT_EQ(settings_->Get("media_limits/t1")->version, 2);  // the refused ones saved nothing
}

TEST_P(MediaServiceTest, PresignedUrlsExpireOnTheClockAndAnyChangeBreaksThem) {
  auto info = media_->Upload("t1", "alice", "presign me");
  ASSERT_TRUE(info.ok());
  auto url = media_->Presign("t1", info->media_id, PresignOp::kDownload, 60);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->method, "GET");
  EXPECT_EQ(url->path, "/v1/media/" + info->media_id);
  EXPECT_EQ(url->expires_s, clock_.NowMs() / 1000 + 60);
  EXPECT_EQ(url->Query(),
            "tenant=t1&expires=" + std::to_string(url->expires_s) + "&signature=" + url->signature);
  const auto& id = info->media_id;
  EXPECT_TRUE(
      media_->VerifyPresigned("t1", PresignOp::kDownload, id, url->expires_s, url->signature).ok());
  auto denied = [&](const std::string& tenant, PresignOp op, const std::string& media_id,
                    int64_t expires, const std::string& signature) {
    return media_->VerifyPresigned(tenant, op, media_id, expires, signature).code() ==
           Code::kPermissionDenied;
  };
  EXPECT_TRUE(denied("t2", PresignOp::kDownload, id, url->expires_s, url->signature));
  EXPECT_TRUE(denied("t1", PresignOp::kUpload, id, url->expires_s, url->signature));
  EXPECT_TRUE(denied("t1", PresignOp::kDownload, id + "X", url->expires_s, url->signature));
  EXPECT_TRUE(denied("t1", PresignOp::kDownload, id, url->expires_s + 3600, url->signature));
  std::string flipped = url->signature;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(denied("t1", PresignOp::kDownload, id, url->expires_s, flipped));
  // Another server secret signs differently.
  MediaPresigner other("another-secret", clock_, 3600);
  EXPECT_NE(other.Sign("t1", PresignOp::kDownload, id, 60)->signature, url->signature);

  clock_.Advance(60'000);
  EXPECT_TRUE(
      media_->VerifyPresigned("t1", PresignOp::kDownload, id, url->expires_s, url->signature).ok());
  clock_.Advance(1'000);
  auto expired =
      media_->VerifyPresigned("t1", PresignOp::kDownload, id, url->expires_s, url->signature);
  EXPECT_EQ(expired.code(), Code::kPermissionDenied);
  EXPECT_NE(expired.message().find("expired"), std::string::npos);

  // The lifetime is capped; unknown media and uploads are not signed.
  auto capped = media_->Presign("t1", id, PresignOp::kDownload, 30 * 86'400);
  EXPECT_EQ(capped->expires_s, clock_.NowMs() / 1000 + 86'400);
  EXPECT_EQ(media_->Presign("t1", id, PresignOp::kDownload, 0).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(media_->Presign("t2", id, PresignOp::kDownload, 60).status().code(), Code::kNotFound);
  auto upload = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(upload.ok());
  auto put = media_->Presign("t1", *upload, PresignOp::kUpload, 60);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->method, "PUT");
  EXPECT_EQ(put->path, "/v1/media/uploads/" + *upload);
  EXPECT_TRUE(
      media_->VerifyPresigned("t1", PresignOp::kUpload, *upload, put->expires_s, put->signature)
          .ok());
  EXPECT_EQ(media_->Presign("t1", id, PresignOp::kUpload, 60).status().code(), Code::kNotFound);
}

TEST_P(MediaServiceTest, MultipartPartsArriveInAnyOrderAndAgain) {
  std::string png = MakePng(300, 100);
  ASSERT_GT(png.size(), 3000u);
  std::string p1 = png.substr(0, 1000), p2 = png.substr(1000, 1000), p3 = png.substr(2000);
  auto upload = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  ASSERT_TRUE(media_->PutPart("t1", *upload, 3, p3).ok());
  ASSERT_TRUE(media_->PutPart("t1", *upload, 2, std::string(1000, 'x')).ok());
  ASSERT_TRUE(media_->PutPart("t1", *upload, 1, p1).ok());
  auto early = media_->CompleteUpload("t1", "no-such-upload");
  EXPECT_EQ(early.status().code(), Code::kNotFound);
  ASSERT_TRUE(media_->PutPart("t1", *upload, 2, p2).ok());  // sent again: replaces
  EXPECT_EQ(media_->PutPart("t2", *upload, 4, "x").code(), Code::kNotFound);
  auto info = media_->CompleteUpload("t1", *upload);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sha256, media::Sha256Hex(png));
  EXPECT_EQ(info->size, png.size());
  EXPECT_EQ(info->mime_type, "image/png");
  EXPECT_EQ(info->width, 300);
  EXPECT_TRUE(info->has_thumbnail);
  EXPECT_EQ(media_->Read("t1", info->media_id)->bytes, png);
  // Finished: the upload id is gone.
  EXPECT_EQ(media_->CompleteUpload("t1", *upload).status().code(), Code::kNotFound);
  EXPECT_EQ(media_->PutPart("t1", *upload, 1, p1).code(), Code::kNotFound);

  // The same bytes by multipart again: the existing media, nothing new kept.
  auto again = media_->BeginUpload("t1", "bob");
  ASSERT_TRUE(media_->PutPart("t1", *again, 1, png).ok());
  auto dedup = media_->CompleteUpload("t1", *again);
  ASSERT_TRUE(dedup.ok()) << dedup.status().ToString();
  EXPECT_EQ(dedup->media_id, info->media_id);
  EXPECT_EQ(ObjectKeys().size(), 2u);  // one image, one thumbnail
}

TEST_P(MediaServiceTest, MultipartChecksPartsSizesAndTypeBeforeKeepingAnything) {
  MediaServiceOptions options;
  options.max_bytes = 3000;
  options.max_part_bytes = 1500;
  options.min_part_bytes = 1000;
  Rebuild(options);
  auto upload = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(media_->PutPart("t1", *upload, 0, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(media_->PutPart("t1", *upload, 1, std::string(1501, 'a')).code(),
            Code::kResourceExhausted);
  ASSERT_TRUE(media_->PutPart("t1", *upload, 1, std::string(1500, 'a')).ok());
  ASSERT_TRUE(media_->PutPart("t1", *upload, 3, std::string(10, 'a')).ok());
  auto missing = media_->CompleteUpload("t1", *upload);
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("lacks part 2"), std::string::npos)
      << missing.status().ToString();
  ASSERT_TRUE(media_->PutPart("t1", *upload, 2, std::string(999, 'a')).ok());
  auto small = media_->CompleteUpload("t1", *upload);
  EXPECT_NE(small.status().message().find("part 2"), std::string::npos)
      << small.status().ToString();
  // Over the tenant's 3000 bytes in all.
  auto over = media_->PutPart("t1", *upload, 2, std::string(1491, 'a'));
  EXPECT_EQ(over.detail(), kMediaTooLarge) << over.ToString();
  ASSERT_TRUE(media_->PutPart("t1", *upload, 2, std::string(1490, 'a')).ok());
  auto done = media_->CompleteUpload("t1", *upload);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->size, 3000u);

  // A type not allowed is refused at Complete, and nothing is kept.
  auto exe = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(media_
                  ->PutPart("t1", *exe, 1,
                            std::string("\x7f"
                                        "ELF",
                                        4) +
                                std::string(5, '\0'))
                  .ok());
  auto refused = media_->CompleteUpload("t1", *exe);
  EXPECT_EQ(refused.status().detail(), kMediaTypeNotAllowed);
  EXPECT_EQ(ObjectKeys().size(), 1u);
  EXPECT_EQ(media_->CompleteUpload("t1", *exe).status().code(), Code::kNotFound);
}

TEST_P(MediaServiceTest, AnAbortedUploadIsGone) {
  auto upload = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(media_->PutPart("t1", *upload, 1, "abc").ok());
  ASSERT_TRUE(media_->AbortUpload("t1", *upload).ok());
  EXPECT_EQ(media_->CompleteUpload("t1", *upload).status().code(), Code::kNotFound);
  EXPECT_EQ(media_->AbortUpload("t1", *upload).code(), Code::kNotFound);
  EXPECT_TRUE(ObjectKeys().empty());
}

TEST_P(MediaServiceTest, OrphansPastTheirGraceAreDeletedReferencedMediaStay) {
  auto orphan = media_->Upload("t1", "alice", MakePng(40, 40));
  auto kept = media_->Upload("t1", "alice", "referred to");
  ASSERT_TRUE(orphan.ok() && kept.ok());
  EXPECT_EQ(ObjectKeys().size(), 3u);
  Refer({MessageWith("c1", 7, {kept->url(), "https://elsewhere/x.png", "/v1/media/unknown"})});
  EXPECT_EQ(media_->Info("t1", kept->media_id)->references, 1);

  clock_.Advance(kGraceMs);  // exactly the grace: not yet
  auto early = media_->RunCleanup();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->media_deleted, 0);
  clock_.Advance(1);
  auto report = media_->RunCleanup();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->media_deleted, 1);
  EXPECT_EQ(media_->Info("t1", orphan->media_id).status().code(), Code::kNotFound);
  EXPECT_TRUE(media_->Info("t1", kept->media_id).ok());
  EXPECT_EQ(ObjectKeys().size(), 1u);  // the orphan's thumbnail went too

  // A recall releases it; after another grace it goes.
  Refer({RecallOf("c1", 8, 7)});
  EXPECT_EQ(media_->Info("t1", kept->media_id)->references, 0);
  clock_.Advance(kGraceMs);
  EXPECT_EQ(media_->RunCleanup()->media_deleted, 0);
  clock_.Advance(1);
  EXPECT_EQ(media_->RunCleanup()->media_deleted, 1);
  EXPECT_TRUE(ObjectKeys().empty());
}

TEST_P(MediaServiceTest, WithoutOrphanDeletionCleanupKeepsUnreferencedMedia) {
  MediaServiceOptions options;
  options.delete_orphans = false;
  Rebuild(options);
  auto media = media_->Upload("t1", "alice", "nobody refers to me");
  ASSERT_TRUE(media.ok());
  clock_.Advance(kGraceMs + 1);
  auto report = media_->RunCleanup();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->media_deleted, 0);
  EXPECT_TRUE(media_->Info("t1", media->media_id).ok());
}

TEST_P(MediaServiceTest, CleanupAbortsUploadsLeftUnfinished) {
  auto stale = media_->BeginUpload("t1", "alice");
  ASSERT_TRUE(media_->PutPart("t1", *stale, 1, "abc").ok());
  clock_.Advance(kGraceMs / 2);
  auto fresh = media_->BeginUpload("t1", "alice");
  clock_.Advance(kGraceMs / 2 + 1);
  auto report = media_->RunCleanup();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->uploads_aborted, 1);
  EXPECT_EQ(media_->PutPart("t1", *stale, 2, "x").code(), Code::kNotFound);
  EXPECT_TRUE(media_->PutPart("t1", *fresh, 1, "x").ok());
}

TEST_P(MediaServiceTest, TheThreadRecordsReferencesAndCleansUpOnTheClock) {
  auto orphan = media_->Upload("t1", "alice", "nobody refers to me");
  auto kept = media_->Upload("t1", "alice", "a message refers to me");
  ASSERT_TRUE(orphan.ok() && kept.ok());
  media_->Start();
  MediaReferenceListener listener(*media_, nullptr);
  std::vector<CommittedMessage> batch = {MessageWith("c1", 1, {kept->url()})};
  listener.OnStored(batch);
  auto wait_for = [](const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  };
  EXPECT_TRUE(wait_for([&] { return media_->Info("t1", kept->media_id)->references == 1; }));
  clock_.Advance(kGraceMs + kIntervalMs);
  EXPECT_TRUE(wait_for(
      [&] { return media_->Info("t1", orphan->media_id).status().code() == Code::kNotFound; }));
  EXPECT_TRUE(media_->Info("t1", kept->media_id).ok());
  media_->Stop();
}

TEST(MediaReferences, AttachmentUrlsAndRecallsBecomeChanges) {
  std::vector<CommittedMessage> batch = {
      MessageWith("c1", 3,
                  {"/v1/media/01ABC", "/v1/media/01DEF?tenant=t1", "/v1/media/", "/v1/mediax/01ABC",
                   "https://cdn/v1/media/01ABC"}),
      RecallOf("c1", 4, 3)};
  auto changes = ReferenceChangesOf(batch);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, MediaReferenceChange::Kind::kAdd);
  EXPECT_EQ(changes[0].media_id, "01ABC");
  EXPECT_EQ(changes[0].conversation_id, "c1");
  EXPECT_EQ(changes[0].seq, 3);
  EXPECT_EQ(changes[1].media_id, "01DEF");
  EXPECT_EQ(changes[2].kind, MediaReferenceChange::Kind::kReleaseMessage);
  EXPECT_EQ(changes[2].seq, 3);
  EXPECT_EQ(changes[2].tenant, "t1");
}

}  // namespace
}  // namespace flare
