// MediaService when orphan cleanup runs between the steps of an upload
// (staged with a MediaStore that deletes at the unlucky moment).
#include <gtest/gtest.h>

#include "adapters/memory/memory_media_store.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/memory/memory_settings_store.h"
#include "services/media/media_service.h"

namespace flare {
namespace {

// A MediaStore whose Touch finds the media deleted by orphan cleanup
// just before (between an upload's hash lookup and its Touch).
class CleanupBeforeTouch final : public MediaStore {
 public:
  Status Insert(const MediaRecord& r) override { return inner.Insert(r); }
  Result<MediaRecord> Get(const std::string& t, const std::string& id) override {
    return inner.Get(t, id);
  }
  Result<MediaRecord> FindByHash(const std::string& t, const std::string& sha) override {
    return inner.FindByHash(t, sha);
  }
  Status Touch(const std::string& t, const std::string& id, int64_t now_ms) override {
    (void)inner.DeleteIfOrphan(t, id, now_ms);
    return inner.Touch(t, id, now_ms);
  }
  Status AddRef(const std::string& t, const std::string& id, const std::string& c,
                int64_t seq) override {
    return inner.AddRef(t, id, c, seq);
  }
  Status ReleaseMessage(const std::string& t, const std::string& c, int64_t seq,
                        int64_t now_ms) override {
    return inner.ReleaseMessage(t, c, seq, now_ms);
  }
  Result<std::vector<MediaRecord>> ListOrphans(int64_t cutoff, size_t limit) override {
    return inner.ListOrphans(cutoff, limit);
  }
  Result<bool> DeleteIfOrphan(const std::string& t, const std::string& id,
                              int64_t cutoff) override {
    return inner.DeleteIfOrphan(t, id, cutoff);
  }
  Status InsertUpload(const UploadRecord& u) override { return inner.InsertUpload(u); }
  Result<UploadRecord> GetUpload(const std::string& t, const std::string& id) override {
    return inner.GetUpload(t, id);
  }
  Status PutUploadPart(const std::string& t, const std::string& id, int n, uint64_t size) override {
    return inner.PutUploadPart(t, id, n, size);
  }
  Status DeleteUpload(const std::string& t, const std::string& id) override {
    return inner.DeleteUpload(t, id);
  }
  Result<std::vector<UploadRecord>> ListUploadsBefore(int64_t cutoff, size_t limit) override {
    return inner.ListUploadsBefore(cutoff, limit);
  }
  MemoryMediaStore inner;
};

TEST(MediaServiceRaces, BytesWhoseMediaCleanupJustDeletedAreStoredAnew) {
  ManualClock clock;
  auto objects = std::make_shared<MemoryObjectStore>();
  MediaService media({objects, std::make_shared<CleanupBeforeTouch>(),
                      std::make_shared<MemorySettingsStore>(), nullptr, &clock, "secret"},
                     {});
  auto first = media.Upload("t1", "alice", "same bytes");
  ASSERT_TRUE(first.ok());
  auto second = media.Upload("t1", "bob", "same bytes");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->media_id, first->media_id);
  auto read = media.Read("t1", second->media_id);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->bytes, "same bytes");
}

}  // namespace
}  // namespace flare
