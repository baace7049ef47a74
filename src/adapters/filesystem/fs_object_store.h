// ObjectStore on a local directory (embedded mode: <data_dir>/media).
// Objects are files under <root>/objects/<key> (a key is a safe relative
// path); a Put or a completed upload is written to <root>/tmp, fsynced,
// renamed into place and its directory fsynced, so a crash leaves the old
// object or the new one whole, never part of one. Multipart uploads keep
// their parts under <root>/uploads/<upload id>/. List walks the tree: fine
// for a node's own files, not for millions of them. Unlike S3, a key cannot
// be both an object and the directory of others ("a" and "a/b"): the
// second Put is kIoError (the media service's keys never nest so).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/ids.h"
#include "ports/object_store.h"

namespace flare {

class FsObjectStore final : public ObjectStore {
 public:
  // Creates the directories it needs under `root`.
  static Result<std::unique_ptr<FsObjectStore>> Open(const std::string& root);

  Status Put(const std::string& key, std::string_view data) override;
  Result<std::string> Get(const std::string& key, const ByteRange& range) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ObjectPage> List(const std::string& prefix, const std::string& after,
                          size_t limit) override;
  Result<std::string> StartMultipart(const std::string& key) override;
  Status PutPart(const std::string& key, const std::string& upload_id, int part_number,
                 std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           int part_count) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;

 private:
  explicit FsObjectStore(std::string root) : root_(std::move(root)) {}
  std::string ObjectPath(const std::string& key) const { return root_ + "/objects/" + key; }
  // The upload's directory, or kNotFound unless it is an upload of `key`.
  Result<std::string> UploadDir(const std::string& key, const std::string& upload_id) const;
  // Writes `data` to a new file in tmp/, durably, and renames it to `path`.
  Status WriteDurably(const std::string& path, std::string_view data);
  std::string TempPath();

  const std::string root_;
  std::mutex mu_;  // the random source
  SystemRandom random_;
};

}  // namespace flare
