// Blobs by key: the media service's uploaded files and thumbnails. A
// directory on disk in embedded mode (adapters/filesystem), S3 or MinIO in
// a cluster; the memory adapter is the tests' second implementation. The
// media service keeps every object's metadata (MIME type, dimensions,
// hash, references) in its own store: this port moves bytes only.
//
// Keys: 1..1024 bytes of [A-Za-z0-9._-] in '/'-separated segments, none
// empty, "." or ".." (so a key is also a safe relative path); anything
// else is kInvalidArgument naming the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace flare {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

// Bytes [offset, offset + length) of an object; no length: to the end.
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

struct ObjectPage {
  std::vector<ObjectInfo> objects;  // in key order
  std::string next_after;           // empty: the last page
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores `data` under `key`, replacing what was there; durable (and
  // visible whole, never part of it) once it returns OK.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // kNotFound when there is no such object; a range starting at or past
  // the end (of a non-empty object) is kInvalidArgument saying so (HTTP:
  // 416); one running past the end is cut at the end.
  virtual Result<std::string> Get(const std::string& key, const ByteRange& range = {}) = 0;
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;
  // A missing object is fine (deleting twice is not an error).
  virtual Status Delete(const std::string& key) = 0;
  // Objects whose key starts with `prefix`, after the key `after`, at most
  // `limit` (1..1000).
  virtual Result<ObjectPage> List(const std::string& prefix, const std::string& after,
                                  size_t limit) = 0;

  // Multipart upload (large or resumable files): parts are numbered from
  // 1 (at most 10,000), may be sent in any order and again (the last one
  // wins); Complete joins parts 1..part_count into the object, as Put
  // does, and ends the upload. Unknown upload ids are kNotFound.
  virtual Result<std::string> StartMultipart(const std::string& key) = 0;
  virtual Status PutPart(const std::string& key, const std::string& upload_id, int part_number,
                         std::string_view data) = 0;
  // kInvalidArgument naming the first missing part.
  virtual Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                                   int part_count) = 0;
  virtual Status AbortMultipart(const std::string& key, const std::string& upload_id) = 0;
};

// CheckObjectKey: kInvalidArgument naming `key` unless it is a valid key
// (above). CheckPartNumber: kInvalidArgument unless 1 <= n <= 10,000.
namespace object_store_detail {

inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr int kMaxParts = 10'000;

inline bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace object_store_detail

inline Status CheckObjectKey(const std::string& key) {
  using object_store_detail::KeyChar;
  using object_store_detail::kMaxKeyBytes;
  auto bad = [&](const char* why) {
    return InvalidArgument("object key '" + key.substr(0, 100) + "': " + why);
  };
  if (key.empty() || key.size() > kMaxKeyBytes) return bad("must be 1..1024 bytes");
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string::npos) slash = key.size();
    std::string_view segment(key.data() + start, slash - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return bad("segments between '/' must not be empty, '.' or '..'");
    }
    for (char c : segment) {
      if (!KeyChar(c)) return bad("only A-Z a-z 0-9 . _ - and '/' are allowed");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

inline Status CheckPartNumber(int part_number) {
  using object_store_detail::kMaxParts;
  if (part_number < 1 || part_number > kMaxParts) {
    return InvalidArgument("part number " + std::to_string(part_number) + " is not in 1..10000");
  }
  return Status::Ok();
}

// The [offset, end) that `range` selects of an object of `size` bytes, as
// Get describes; every adapter resolves ranges with it.
inline Result<std::pair<uint64_t, uint64_t>> ResolveRange(const std::string& key, uint64_t size,
                                                          const ByteRange& range) {
  if (range.offset > 0 && range.offset >= size) {
    return InvalidArgument("range of object '" + key + "' starts at " +
                           std::to_string(range.offset) + ", past its " + std::to_string(size) +
                           " bytes");
  }
  uint64_t end = size;
  if (range.length && *range.length < size - range.offset) end = range.offset + *range.length;
  return std::make_pair(range.offset, end);
}

}  // namespace flare
