// ObjectStore in memory: the tests' second implementation of the port,
// and storage.backend = "memory". Lost when the process ends.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ports/object_store.h"

namespace flare {

class MemoryObjectStore final : public ObjectStore {
 public:
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
  struct Upload {
    std::string key;
    std::map<int, std::string> parts;
  };
  // The upload `upload_id` of `key`, or null (with mu_ held).
  Upload* FindUpload(const std::string& key, const std::string& upload_id);

  std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::map<std::string, Upload> uploads_;
  uint64_t next_upload_ = 1;
};

}  // namespace flare
