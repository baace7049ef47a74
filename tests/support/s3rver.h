// Test support: s3rver (tests/support/s3/, an S3-compatible server from
// npm, installed by scripts/setup) as a child process on a free port, with
// its objects in a directory of its own, removed when it stops. Not MinIO:
// s3rver 3.7 lacks ListParts and AbortMultipartUpload, so the S3 tests
// skip what needs them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace flare::testing {

class S3rverProcess {
 public:
  // Starts s3rver with `buckets`; port() is 0 when it did not start.
  explicit S3rverProcess(const std::vector<std::string>& buckets);
  ~S3rverProcess();
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // s3rver's fixed credentials.
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

 private:
  ChildProcess process_;
  std::string directory_;
  uint16_t port_ = 0;
};

}  // namespace flare::testing
