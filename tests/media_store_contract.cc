// The MediaStore contract (media_store_contract.h): records unique per
// tenant by id and by content hash, references counted once per message
// and released by message, orphans listed and deleted only while still
// orphans, and multipart upload state.
#include "media_store_contract.h"

namespace flare {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

MediaRecord Record(const std::string& tenant, const std::string& id, const std::string& sha,
                   int64_t created_ms = kT0) {
  MediaRecord r;
  r.tenant = tenant;
  r.media_id = id;
  r.owner = "alice";
  r.sha256 = sha;
  r.mime_type = "image/png";
  r.size = 5'000'000'000ull;  // above 32 bits
  r.width = 640;
  r.height = 480;
  r.object_key = "media/t" + tenant + "/" + id;
  r.thumbnail_key = r.object_key + ".thumb";
  r.thumbnail_mime = "image/png";
  r.thumbnail_size = 1234;
  r.created_ms = r.unreferenced_since_ms = created_ms;
  return r;
}

UploadRecord Upload(const std::string& tenant, const std::string& id, int64_t created_ms = kT0) {
  UploadRecord u;
  u.tenant = tenant;
  u.upload_id = id;
  u.owner = "bob";
  u.media_id = "m-" + id;
  u.object_key = "media/t" + tenant + "/m-" + id;
  u.store_upload_id = "s3-" + id;
  u.created_ms = created_ms;
  return u;
}

TEST_P(MediaStoreContract, InsertedRecordsReadBackWholeByIdAndByHash) {
  MediaRecord r = Record("t1", "m1", "aa11");
  ASSERT_TRUE(store_->Insert(r).ok());
  auto got = store_->Get("t1", "m1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->owner, "alice");
  EXPECT_EQ(got->sha256, "aa11");
  EXPECT_EQ(got->mime_type, "image/png");
  EXPECT_EQ(got->size, 5'000'000'000ull);
  EXPECT_EQ(got->width, 640);
  EXPECT_EQ(got->height, 480);
  EXPECT_EQ(got->object_key, r.object_key);
  EXPECT_EQ(got->thumbnail_key, r.thumbnail_key);
  EXPECT_EQ(got->thumbnail_mime, "image/png");
  EXPECT_EQ(got->thumbnail_size, 1234u);
  EXPECT_EQ(got->created_ms, kT0);
  EXPECT_EQ(got->refs, 0);
  EXPECT_EQ(got->unreferenced_since_ms, kT0);
  auto by_hash = store_->FindByHash("t1", "aa11");
  ASSERT_TRUE(by_hash.ok());
  EXPECT_EQ(by_hash->media_id, "m1");
}

TEST_P(MediaStoreContract, IdsAndHashesAreUniquePerTenantOnly) {
  ASSERT_TRUE(store_->Insert(Record("t1", "m1", "aa11")).ok());
  EXPECT_EQ(store_->Insert(Record("t1", "m1", "bb22")).code(), Code::kAlreadyExists);
  EXPECT_EQ(store_->Insert(Record("t1", "m2", "aa11")).code(), Code::kAlreadyExists);
  EXPECT_TRUE(store_->Insert(Record("t2", "m1", "aa11")).ok());
  EXPECT_EQ(store_->Get("t1", "m2").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("t3", "m1").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->FindByHash("t3", "aa11").status().code(), Code::kNotFound);
}

TEST_P(MediaStoreContract, AReferenceCountsOncePerMessageAndUnknownMediaAreIgnored) {
  ASSERT_TRUE(store_->Insert(Record("t1", "m1", "aa11")).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m1", "c1", 5).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m1", "c1", 5).ok());  // the same message seen again
  ASSERT_TRUE(store_->AddRef("t1", "m1", "c2", 5).ok());
  ASSERT_TRUE(store_->AddRef("t1", "nope", "c1", 6).ok());
  ASSERT_TRUE(store_->AddRef("t2", "m1", "c1", 7).ok());  // another tenant's id
  EXPECT_EQ(store_->Get("t1", "m1")->refs, 2);
  EXPECT_EQ(store_->Get("t1", "nope").status().code(), Code::kNotFound);
}

TEST_P(MediaStoreContract, ReleasingAMessageDropsItsReferencesAndStartsTheGrace) {
  ASSERT_TRUE(store_->Insert(Record("t1", "m1", "aa11")).ok());
  ASSERT_TRUE(store_->Insert(Record("t1", "m2", "bb22")).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m1", "c1", 5).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m2", "c1", 5).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m2", "c1", 9).ok());
  ASSERT_TRUE(store_->ReleaseMessage("t1", "c1", 5, kT0 + 100).ok());
  auto m1 = store_->Get("t1", "m1");
  auto m2 = store_->Get("t1", "m2");
  EXPECT_EQ(m1->refs, 0);
  EXPECT_EQ(m1->unreferenced_since_ms, kT0 + 100);
  EXPECT_EQ(m2->refs, 1);
  EXPECT_EQ(m2->unreferenced_since_ms, kT0);  // still referenced: unchanged
  // Released once only; a message without references is fine.
  ASSERT_TRUE(store_->ReleaseMessage("t1", "c1", 5, kT0 + 200).ok());
  ASSERT_TRUE(store_->ReleaseMessage("t1", "c7", 1, kT0 + 200).ok());
  EXPECT_EQ(store_->Get("t1", "m2")->refs, 1);
  EXPECT_EQ(store_->Get("t1", "m1")->unreferenced_since_ms, kT0 + 100);
  // Referenced again after release: counted again.
  ASSERT_TRUE(store_->AddRef("t1", "m1", "c1", 5).ok());
  EXPECT_EQ(store_->Get("t1", "m1")->refs, 1);
}

TEST_P(MediaStoreContract, OrphansAreListedOldestFirstAndDeletedOnlyWhileOrphans) {
  ASSERT_TRUE(store_->Insert(Record("t1", "old", "aa11", kT0)).ok());
  ASSERT_TRUE(store_->Insert(Record("t2", "older", "bb22", kT0 - 10)).ok());
  ASSERT_TRUE(store_->Insert(Record("t1", "new", "cc33", kT0 + 1000)).ok());
  ASSERT_TRUE(store_->Insert(Record("t1", "used", "dd44", kT0 - 50)).ok());
  ASSERT_TRUE(store_->AddRef("t1", "used", "c1", 1).ok());
  auto orphans = store_->ListOrphans(kT0, 10);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  ASSERT_EQ(orphans->size(), 2u);
  EXPECT_EQ((*orphans)[0].media_id, "older");
  EXPECT_EQ((*orphans)[1].media_id, "old");
  EXPECT_EQ(store_->ListOrphans(kT0, 1)->size(), 1u);

  EXPECT_FALSE(*store_->DeleteIfOrphan("t1", "used", kT0));
  EXPECT_FALSE(*store_->DeleteIfOrphan("t1", "new", kT0));  // inside its grace
  ASSERT_TRUE(store_->AddRef("t1", "old", "c1", 2).ok());   // referenced since it was listed
  EXPECT_FALSE(*store_->DeleteIfOrphan("t1", "old", kT0));
  EXPECT_TRUE(*store_->DeleteIfOrphan("t2", "older", kT0));
  EXPECT_FALSE(*store_->DeleteIfOrphan("t2", "older", kT0));
  EXPECT_EQ(store_->Get("t2", "older").status().code(), Code::kNotFound);
  // Its hash is free again.
  EXPECT_EQ(store_->FindByHash("t2", "bb22").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->Insert(Record("t2", "again", "bb22")).ok());
}

TEST_P(MediaStoreContract, TouchRestartsTheGraceOfAnUnreferencedMediaOnly) {
  ASSERT_TRUE(store_->Insert(Record("t1", "m1", "aa11")).ok());
  ASSERT_TRUE(store_->Insert(Record("t1", "m2", "bb22")).ok());
  ASSERT_TRUE(store_->AddRef("t1", "m2", "c1", 1).ok());
  ASSERT_TRUE(store_->Touch("t1", "m1", kT0 + 500).ok());
  ASSERT_TRUE(store_->Touch("t1", "m2", kT0 + 500).ok());
  EXPECT_EQ(store_->Get("t1", "m1")->unreferenced_since_ms, kT0 + 500);
  EXPECT_EQ(store_->Get("t1", "m2")->unreferenced_since_ms, kT0);
  EXPECT_EQ(store_->Touch("t1", "nope", kT0).code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListOrphans(kT0 + 499, 10)->empty());
}

TEST_P(MediaStoreContract, UploadsKeepTheirPartsAndAreListedByAge) {
  ASSERT_TRUE(store_->InsertUpload(Upload("t1", "u1", kT0)).ok());
  ASSERT_TRUE(store_->InsertUpload(Upload("t1", "u2", kT0 + 10)).ok());
  EXPECT_EQ(store_->InsertUpload(Upload("t1", "u1")).code(), Code::kAlreadyExists);
  ASSERT_TRUE(store_->PutUploadPart("t1", "u1", 2, 100).ok());
  ASSERT_TRUE(store_->PutUploadPart("t1", "u1", 1, 6'000'000'000ull).ok());
  ASSERT_TRUE(store_->PutUploadPart("t1", "u1", 2, 70).ok());  // sent again: replaces
  auto u1 = store_->GetUpload("t1", "u1");
  ASSERT_TRUE(u1.ok()) << u1.status().ToString();
  EXPECT_EQ(u1->owner, "bob");
  EXPECT_EQ(u1->media_id, "m-u1");
  EXPECT_EQ(u1->object_key, "media/tt1/m-u1");
  EXPECT_EQ(u1->store_upload_id, "s3-u1");
  EXPECT_EQ(u1->created_ms, kT0);
  EXPECT_EQ(u1->parts, (std::map<int, uint64_t>{{1, 6'000'000'000ull}, {2, 70}}));
  EXPECT_TRUE(store_->GetUpload("t1", "u2")->parts.empty());
  EXPECT_EQ(store_->GetUpload("t2", "u1").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->PutUploadPart("t2", "u1", 1, 5).code(), Code::kNotFound);

  auto old = store_->ListUploadsBefore(kT0 + 5, 10);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].upload_id, "u1");
  EXPECT_EQ(store_->ListUploadsBefore(kT0 + 10, 10)->size(), 2u);

  ASSERT_TRUE(store_->DeleteUpload("t1", "u1").ok());
  ASSERT_TRUE(store_->DeleteUpload("t1", "u1").ok());
  EXPECT_EQ(store_->GetUpload("t1", "u1").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->PutUploadPart("t1", "u1", 1, 5).code(), Code::kNotFound);
  // Its parts went with it: an upload of the same id starts empty.
  ASSERT_TRUE(store_->InsertUpload(Upload("t1", "u1")).ok());
  EXPECT_TRUE(store_->GetUpload("t1", "u1")->parts.empty());
}

}  // namespace
}  // namespace flare
