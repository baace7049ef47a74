// AWS Signature Version 4 for S3 requests (header authorization), on
// OpenSSL 3's SHA-256 and HMAC-SHA256. The S3 adapter signs host,
// x-amz-content-sha256 and x-amz-date (and Range when it sends one).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace flare {

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region;
  std::string service = "s3";
};

struct SigV4Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // already URI-encoded, e.g. "/bucket/a/b.jpg"
  // Query parameters, not encoded ("uploads" has an empty value).
  std::map<std::string, std::string> query;
  // Headers to sign: lower-case names, trimmed values; must include host,
  // x-amz-date and x-amz-content-sha256.
  std::map<std::string, std::string> headers;
  std::string payload_sha256;  // lower-case hex
};

std::string Sha256Hex(std::string_view data);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
// (A-Z a-z 0-9 - . _ ~) stay, '/' too when `keep_slash`, every other byte
// becomes %XX (upper-case hex).
std::string UriEncode(std::string_view in, bool keep_slash);

// "20130524T000000Z" for milliseconds since the epoch.
std::string AmzDate(int64_t unix_ms);

// "a=1&b=2": names and values encoded, sorted by name (as signed and sent).
std::string CanonicalQuery(const std::map<std::string, std::string>& query);

std::string CanonicalRequest(const SigV4Request& request);

// The Authorization header's value:
// "AWS4-HMAC-SHA256 Credential=.../<date>/<region>/s3/aws4_request,
// SignedHeaders=...,Signature=<hex>", with the date taken from the
// request's x-amz-date header.
std::string SigV4Authorization(const SigV4Request& request, const SigV4Credentials& credentials);

}  // namespace flare
