// ObjectStore on S3 or an S3-compatible server (MinIO; s3rver in the
// tests): path-style URLs (endpoint/bucket/key), requests signed with AWS
// Signature Version 4, one blocking libcurl request per call.
//
// Limits S3 sets that the port does not: every multipart part but the
// last must be at least 5 MiB (kMinPartBytes; S3 refuses the Complete
// otherwise, EntityTooSmall). CompleteMultipart asks S3 for the parts'
// ETags (ListParts) instead of keeping them in memory, so an upload can
// be completed by another process than the one that sent its parts.
//
// Errors: no answer (connection, timeout) and HTTP 5xx are kUnavailable,
// 403 kPermissionDenied, 404 kNotFound; messages carry S3's error Code and
// Message.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "ports/object_store.h"

namespace flare {

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9000" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  int64_t timeout_ms = 30'000;                    // per request, connecting included
  const Clock* clock = &SystemClock::Instance();  // signing time
};

inline constexpr uint64_t kS3MinPartBytes = 5ull << 20;

class S3ObjectStore final : public ObjectStore {
 public:
  // kInvalidArgument for a missing endpoint/bucket/credentials or a
  // non-positive timeout.
  static Result<std::unique_ptr<S3ObjectStore>> Open(S3Options options);

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
  struct Request {
    const char* method = "GET";
    std::string key;  // empty: the bucket itself
    std::map<std::string, std::string> query;
    std::string_view body;
    std::string range;  // a Range header's value, or empty
  };
  struct Response {
    long status = 0;
    std::string body;
    uint64_t content_length = 0;
  };

  explicit S3ObjectStore(S3Options options) : options_(std::move(options)) {}
  // kUnavailable when there is no HTTP answer; any HTTP answer otherwise.
  Result<Response> Send(const Request& request) const;
  // OK for 2xx, else the status the port wants for `what` (see above).
  Status Check(const Response& response, const std::string& what) const;
  Result<std::map<int, std::string>> ListPartETags(const std::string& key,
                                                   const std::string& upload_id) const;

  S3Options options_;
};

}  // namespace flare
