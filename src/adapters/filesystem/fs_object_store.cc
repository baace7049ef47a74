#include "adapters/filesystem/fs_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace flare {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

// Writes all of `data` to `fd`.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync " + dir);
}

Result<std::string> ReadFile(const std::string& path, const std::string& key,
                             const ByteRange& range) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return NotFound("no object '" + key + "'");
  if (fd < 0) return Errno("open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    Status err = S_ISDIR(st.st_mode) ? NotFound("no object '" + key + "'") : Errno("stat " + path);
    ::close(fd);
    return err;
  }
  auto span = ResolveRange(key, static_cast<uint64_t>(st.st_size), range);
  if (!span.ok()) {
    ::close(fd);
    return span.status();
  }
  std::string out(span->second - span->first, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(span->first + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status err = n < 0 ? Errno("read " + path) : IoError("short read of " + path);
      ::close(fd);
      return err;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::unique_ptr<FsObjectStore>> FsObjectStore::Open(const std::string& root) {
  std::error_code ec;
  for (const char* dir : {"objects", "tmp", "uploads"}) {
    fs::create_directories(root + "/" + dir, ec);
    if (ec) return IoError("cannot create '" + root + "/" + dir + "': " + ec.message());
  }
  // Leftovers of writes a crash interrupted.
  fs::remove_all(root + "/tmp", ec);
  fs::create_directories(root + "/tmp", ec);
  if (ec) return IoError("cannot create '" + root + "/tmp': " + ec.message());
  return std::unique_ptr<FsObjectStore>(new FsObjectStore(root));
}

std::string FsObjectStore::TempPath() {
  std::lock_guard lock(mu_);
  return root_ + "/tmp/" + std::to_string(random_.Next());
}

Status FsObjectStore::WriteDurably(const std::string& path, std::string_view data) {
  std::string temp = TempPath();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("create " + temp);
  Status st = WriteAll(fd, data, temp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync " + temp);
  ::close(fd);
  std::string dir = fs::path(path).parent_path().string();
  std::error_code ec;
  if (st.ok()) {
    fs::create_directories(dir, ec);
    if (ec) st = IoError("cannot create '" + dir + "': " + ec.message());
  }
  if (st.ok() && ::rename(temp.c_str(), path.c_str()) != 0) st = Errno("rename to " + path);
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  return SyncDir(dir);
}

Status FsObjectStore::Put(const std::string& key, std::string_view data) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  return WriteDurably(ObjectPath(key), data);
}

Result<std::string> FsObjectStore::Get(const std::string& key, const ByteRange& range) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  return ReadFile(ObjectPath(key), key, range);
}

Result<ObjectInfo> FsObjectStore::Head(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  struct stat st {};
  std::string path = ObjectPath(key);
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("no object '" + key + "'");
    return Errno("stat " + path);
  }
  if (!S_ISREG(st.st_mode)) return NotFound("no object '" + key + "'");
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size)};
}

Status FsObjectStore::Delete(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::string path = ObjectPath(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != EISDIR && errno != ENOTDIR) {
    return Errno("unlink " + path);
  }
  return Status::Ok();
}

Result<ObjectPage> FsObjectStore::List(const std::string& prefix, const std::string& after,
                                       size_t limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("list limit must be 1..1000");
  std::string base = root_ + "/objects";
  std::vector<ObjectInfo> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string key = it->path().string().substr(base.size() + 1);
    if (key.compare(0, prefix.size(), prefix) != 0 || (!after.empty() && key <= after)) continue;
    found.push_back({key, static_cast<uint64_t>(it->file_size(ec))});
  }
  if (ec) return IoError("cannot list '" + base + "': " + ec.message());
  std::sort(found.begin(), found.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  ObjectPage page;
  if (found.size() > limit) {
    found.resize(limit);
    page.next_after = found.back().key;
  }
  page.objects = std::move(found);
  return page;
}

Result<std::string> FsObjectStore::StartMultipart(const std::string& key) {
  FLARE_RETURN_IF_ERROR(CheckObjectKey(key));
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = std::to_string(random_.Next()) + std::to_string(random_.Next());
  }
  std::string dir = root_ + "/uploads/" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create '" + dir + "': " + ec.message());
  FLARE_RETURN_IF_ERROR(WriteDurably(dir + "/key", key));
  return id;
}

Result<std::string> FsObjectStore::UploadDir(const std::string& key,
                                             const std::string& upload_id) const {
  bool digits = !upload_id.empty() && upload_id.size() <= 64 &&
                std::all_of(upload_id.begin(), upload_id.end(), ::isdigit);
  std::string dir = root_ + "/uploads/" + upload_id;
  if (digits) {
    auto stored = ReadFile(dir + "/key", "key", {});
    if (stored.ok() && *stored == key) return dir;
  }
  return NotFound("no upload '" + upload_id + "' of '" + key + "'");
}

Status FsObjectStore::PutPart(const std::string& key, const std::string& upload_id, int part_number,
                              std::string_view data) {
  FLARE_RETURN_IF_ERROR(CheckPartNumber(part_number));
  auto dir = UploadDir(key, upload_id);
  if (!dir.ok()) return dir.status();
  return WriteDurably(*dir + "/" + std::to_string(part_number), data);
}

Status FsObjectStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                        int part_count) {
  FLARE_RETURN_IF_ERROR(CheckPartNumber(part_count));
  auto dir = UploadDir(key, upload_id);
  if (!dir.ok()) return dir.status();
  std::string joined;
  for (int n = 1; n <= part_count; ++n) {
    auto part = ReadFile(*dir + "/" + std::to_string(n), key, {});
    if (!part.ok() && part.status().code() == Code::kNotFound) {
      return InvalidArgument("upload '" + upload_id + "' has no part " + std::to_string(n));
    }
    if (!part.ok()) return part.status();
    joined += *part;
  }
  FLARE_RETURN_IF_ERROR(WriteDurably(ObjectPath(key), joined));
  std::error_code ec;
  fs::remove_all(*dir, ec);
  return Status::Ok();
}

Status FsObjectStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  auto dir = UploadDir(key, upload_id);
  if (!dir.ok()) return dir.status();
  std::error_code ec;
  fs::remove_all(*dir, ec);
  return ec ? IoError("cannot remove '" + *dir + "': " + ec.message()) : Status::Ok();
}

}  // namespace flare
