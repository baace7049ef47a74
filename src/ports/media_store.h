// Port: the media service's metadata (services/media/): one record per
// stored media (its objects' keys, size, sniffed MIME type, dimensions,
// content hash, references from messages) and the state of resumable
// multipart uploads. The bytes themselves are in an ObjectStore.
//
// A tenant holds at most one media per SHA-256 (Insert is kAlreadyExists
// otherwise): that is how uploads of the same bytes are deduplicated.
// References are counted per message (tenant, conversation, seq), so a
// listener that sees a message twice (at-least-once delivery) counts it once.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct MediaRecord {
  std::string tenant;
  std::string media_id;
  std::string owner;      // the user who uploaded it first
  std::string sha256;     // lowercase hex of the content
  std::string mime_type;  // sniffed from the bytes
  uint64_t size = 0;
  int32_t width = 0;  // images: pixels; else 0
  int32_t height = 0;
  std::string object_key;
  std::string thumbnail_key;  // empty: no thumbnail
  std::string thumbnail_mime;
  uint64_t thumbnail_size = 0;
  int64_t created_ms = 0;
  int64_t refs = 0;  // messages referring to it
  // When refs last became 0 (created_ms at first; a deduplicated upload
  // moves it to its own time). Orphan cleanup counts its grace from here.
  int64_t unreferenced_since_ms = 0;
};

// A multipart upload in progress: the object it becomes and the sizes of
// the parts received so far.
struct UploadRecord {
  std::string tenant;
  std::string upload_id;
  std::string owner;
  std::string media_id;         // the media it becomes (unless deduplicated)
  std::string object_key;       // in the ObjectStore
  std::string store_upload_id;  // the ObjectStore's multipart id
  int64_t created_ms = 0;
  std::map<int, uint64_t> parts;  // part number -> bytes
};

class MediaStore {
 public:
  virtual ~MediaStore() = default;

  // kAlreadyExists when the tenant has a media with that id or sha256.
  virtual Status Insert(const MediaRecord& record) = 0;
  // kNotFound when the tenant has no such media.
  virtual Result<MediaRecord> Get(const std::string& tenant, const std::string& media_id) = 0;
  virtual Result<MediaRecord> FindByHash(const std::string& tenant, const std::string& sha256) = 0;
  // The media was asked for again (a deduplicated upload): if nothing
  // refers to it, its grace starts again at `now_ms`. kNotFound if gone.
  virtual Status Touch(const std::string& tenant, const std::string& media_id, int64_t now_ms) = 0;

  // Message (conversation_id, seq) refers to the media; counted once per
  // message. A media the store does not know is ignored (OK).
  virtual Status AddRef(const std::string& tenant, const std::string& media_id,
                        const std::string& conversation_id, int64_t seq) = 0;
  // The message no longer refers to anything (recalled): every reference
  // it held is released; a media left with none is unreferenced since
  // `now_ms`. A message without references is fine.
  virtual Status ReleaseMessage(const std::string& tenant, const std::string& conversation_id,
                                int64_t seq, int64_t now_ms) = 0;

  // At most `limit` media of any tenant nothing refers to since
  // `cutoff_ms` or earlier, oldest first.
  virtual Result<std::vector<MediaRecord>> ListOrphans(int64_t cutoff_ms, size_t limit) = 0;
  // Deletes the record if it is still such an orphan (atomically with that
  // check): whether it was deleted.
  virtual Result<bool> DeleteIfOrphan(const std::string& tenant, const std::string& media_id,
                                      int64_t cutoff_ms) = 0;

  // Multipart uploads. kAlreadyExists for a known upload id.
  virtual Status InsertUpload(const UploadRecord& upload) = 0;
  // With its parts; kNotFound when the tenant has no such upload.
  virtual Result<UploadRecord> GetUpload(const std::string& tenant,
                                         const std::string& upload_id) = 0;
  // Records (or replaces) the size of a part received. kNotFound if the
  // upload is gone.
  virtual Status PutUploadPart(const std::string& tenant, const std::string& upload_id,
                               int part_number, uint64_t size) = 0;
  // With its parts; a missing upload is fine.
  virtual Status DeleteUpload(const std::string& tenant, const std::string& upload_id) = 0;
  // At most `limit` uploads (without their parts) started at `cutoff_ms`
  // or earlier, oldest first.
  virtual Result<std::vector<UploadRecord>> ListUploadsBefore(int64_t cutoff_ms, size_t limit) = 0;
};

}  // namespace flare
