#include "support/fault_vfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace flare::testing {

namespace {

struct FileState {
  struct Undo {
    int64_t offset;
    std::string old;  // the bytes there before the write
  };
  std::vector<Undo> undo;  // since the last sync, oldest first
  std::vector<Undo> lost;  // what failed syncs did not write: lost for good
  int64_t synced_size = 0;
};

struct FaultFile {
  sqlite3_file base;  // first: SQLite sees a FaultFile as a sqlite3_file
  FaultVfs::Impl* impl;
  std::string* path;   // empty for temporary files (not tracked)
  sqlite3_file* real;  // the default VFS's file, right after this struct
};

FaultFile* Cast(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }

}  // namespace

struct FaultVfs::Impl {
  FaultVfs* owner = nullptr;
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
  std::mutex mu;
  bool off = false;
  std::string fail_sync_suffix;
  std::string fail_thread, fail_thread_suffix;
  int fail_thread_syncs = 0;
  std::map<std::string, FileState> files;

  FileState* Tracked(FaultFile* f) {
    if (f->path->empty()) return nullptr;
    return &files[*f->path];
  }
  bool ShouldFail(const std::string& path) {
    auto ends_with = [&](const std::string& suffix) {
      return !suffix.empty() && path.size() >= suffix.size() &&
             path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(fail_sync_suffix)) return true;
    if (fail_thread_syncs <= 0 || !ends_with(fail_thread_suffix)) return false;
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    if (fail_thread != name) return false;
    --fail_thread_syncs;
    return true;
  }
  // Reads [offset, offset + n) as it is now (short reads zero-filled).
  std::string ReadNow(FaultFile* f, int64_t offset, int n) {
    std::string bytes(static_cast<size_t>(n), '\0');
    (void)f->real->pMethods->xRead(f->real, bytes.data(), n, offset);  // short: zero-filled
    return bytes;
  }
};

namespace {

int Close(sqlite3_file* file) {
  FaultFile* f = Cast(file);
  int rc = f->real->pMethods->xClose(f->real);
  delete f->path;
  return rc;
}

int Read(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  FaultFile* f = Cast(file);
  return f->real->pMethods->xRead(f->real, buf, amount, offset);
}

int Write(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset) {
  FaultFile* f = Cast(file);
  std::lock_guard lock(f->impl->mu);
  if (f->impl->off) return SQLITE_OK;  // lost with the power
  if (FileState* state = f->impl->Tracked(f); state && offset < state->synced_size) {
    int n = static_cast<int>(std::min<int64_t>(amount, state->synced_size - offset));
    state->undo.push_back({offset, f->impl->ReadNow(f, offset, n)});
  }
  return f->real->pMethods->xWrite(f->real, buf, amount, offset);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  FaultFile* f = Cast(file);
  std::lock_guard lock(f->impl->mu);
  if (f->impl->off) return SQLITE_OK;
  if (FileState* state = f->impl->Tracked(f); state && size < state->synced_size) {
    int n = static_cast<int>(state->synced_size - size);
    state->undo.push_back({size, f->impl->ReadNow(f, size, n)});
  }
  return f->real->pMethods->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  FaultFile* f = Cast(file);
  std::lock_guard lock(f->impl->mu);
  f->impl->owner->CountSync();
  if (f->impl->off) return SQLITE_IOERR_FSYNC;  // nothing is made durable any more
  if (f->impl->ShouldFail(*f->path)) {
    // Like Linux after a failed writeback: the unsynced pages are dropped
    // (marked clean), so no later sync writes them.
    if (FileState* state = f->impl->Tracked(f)) {
      for (auto& u : state->undo) state->lost.push_back(std::move(u));
      state->undo.clear();
      sqlite3_int64 size = 0;
      if (f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK && size > state->synced_size) {
        state->lost.push_back({state->synced_size,
                               std::string(static_cast<size_t>(size - state->synced_size), '\0')});
      }
    }
    return SQLITE_IOERR_FSYNC;
  }
  int rc = f->real->pMethods->xSync(f->real, flags);
  if (rc != SQLITE_OK) return rc;
  if (FileState* state = f->impl->Tracked(f)) {
    state->undo.clear();
    sqlite3_int64 size = 0;
    if (f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK) state->synced_size = size;
  }
  return SQLITE_OK;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  FaultFile* f = Cast(file);
  return f->real->pMethods->xFileSize(f->real, size);
}
int Lock(sqlite3_file* file, int level) {
  return Cast(file)->real->pMethods->xLock(Cast(file)->real, level);
}
int Unlock(sqlite3_file* file, int level) {
  return Cast(file)->real->pMethods->xUnlock(Cast(file)->real, level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Cast(file)->real->pMethods->xCheckReservedLock(Cast(file)->real, out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  return Cast(file)->real->pMethods->xFileControl(Cast(file)->real, op, arg);
}
int SectorSize(sqlite3_file* file) {
  return Cast(file)->real->pMethods->xSectorSize(Cast(file)->real);
}
int DeviceCharacteristics(sqlite3_file* file) {
  return Cast(file)->real->pMethods->xDeviceCharacteristics(Cast(file)->real);
}
int ShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return Cast(file)->real->pMethods->xShmMap(Cast(file)->real, page, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return Cast(file)->real->pMethods->xShmLock(Cast(file)->real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Cast(file)->real->pMethods->xShmBarrier(Cast(file)->real); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return Cast(file)->real->pMethods->xShmUnmap(Cast(file)->real, delete_flag);
}

// Version 2: shared memory for WAL mode, but no memory-mapped reads, so
// every read and write goes through the methods above.
const sqlite3_io_methods kMethods = {2,
                                     Close,
                                     Read,
                                     Write,
                                     Truncate,
                                     Sync,
                                     FileSize,
                                     Lock,
                                     Unlock,
                                     CheckReservedLock,
                                     FileControl,
                                     SectorSize,
                                     DeviceCharacteristics,
                                     ShmMap,
                                     ShmLock,
                                     ShmBarrier,
                                     ShmUnmap,
                                     nullptr,
                                     nullptr};

FaultVfs::Impl* ImplOf(sqlite3_vfs* vfs) { return static_cast<FaultVfs::Impl*>(vfs->pAppData); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultVfs::Impl* impl = ImplOf(vfs);
  FaultFile* f = Cast(file);
  f->base.pMethods = nullptr;
  f->impl = impl;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  bool existed = name != nullptr && ::access(name, F_OK) == 0;
  int rc = impl->base->xOpen(impl->base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  f->path = new std::string(name ? name : "");
  f->base.pMethods = &kMethods;
  std::lock_guard lock(impl->mu);
  if (!f->path->empty() && impl->files.count(*f->path) == 0) {
    sqlite3_int64 size = 0;
    if (existed) (void)f->real->pMethods->xFileSize(f->real, &size);  // 0 on error
    impl->files[*f->path].synced_size = size;
  }
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  FaultVfs::Impl* impl = ImplOf(vfs);
  std::lock_guard lock(impl->mu);
  if (impl->off) return SQLITE_OK;
  impl->files.erase(name);
  return impl->base->xDelete(impl->base, name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return ImplOf(vfs)->base->xAccess(ImplOf(vfs)->base, name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return ImplOf(vfs)->base->xFullPathname(ImplOf(vfs)->base, name, n, out);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return ImplOf(vfs)->base->xRandomness(ImplOf(vfs)->base, n, out);
}
int SleepFor(sqlite3_vfs* vfs, int us) { return ImplOf(vfs)->base->xSleep(ImplOf(vfs)->base, us); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return ImplOf(vfs)->base->xCurrentTime(ImplOf(vfs)->base, out);
}
int LastError(sqlite3_vfs* vfs, int n, char* out) {
  return ImplOf(vfs)->base->xGetLastError(ImplOf(vfs)->base, n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return ImplOf(vfs)->base->xCurrentTimeInt64(ImplOf(vfs)->base, out);
}

// Puts back what a file held at its last sync.
void RevertToSynced(const std::string& path, FileState& state) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;  // deleted: deletions are durable at once
  for (auto it = state.undo.rbegin(); it != state.undo.rend(); ++it) {
    (void)::pwrite(fd, it->old.data(), it->old.size(), it->offset);  // best effort, test only
  }
  (void)::ftruncate(fd, state.synced_size);
  for (auto it = state.lost.rbegin(); it != state.lost.rend(); ++it) {
    if (it->offset >= state.synced_size) continue;  // already cut off
    size_t n =
        std::min<size_t>(it->old.size(), static_cast<size_t>(state.synced_size - it->offset));
    (void)::pwrite(fd, it->old.data(), n, it->offset);
  }
  state.lost.clear();
  ::close(fd);
  state.undo.clear();
}

}  // namespace

FaultVfs::FaultVfs() : impl_(new Impl) {
  impl_->owner = this;
  impl_->base = sqlite3_vfs_find(nullptr);
  sqlite3_vfs& v = impl_->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(FaultFile)) + impl_->base->szOsFile;
  v.mxPathname = impl_->base->mxPathname;
  v.zName = kName;
  v.pAppData = impl_;
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = impl_->base->xDlOpen;
  v.xDlError = impl_->base->xDlError;
  v.xDlSym = impl_->base->xDlSym;
  v.xDlClose = impl_->base->xDlClose;
  v.xRandomness = Randomness;
  v.xSleep = SleepFor;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = LastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(&v, /*makeDflt=*/0);
}

FaultVfs& FaultVfs::Get() {
  static FaultVfs* vfs = new FaultVfs;  // registered with SQLite for the process's life
  return *vfs;
}

void FaultVfs::PowerLoss() {
  std::lock_guard lock(impl_->mu);
  impl_->off = true;
  for (auto& [path, state] : impl_->files) RevertToSynced(path, state);
}

void FaultVfs::Restore() {
  std::lock_guard lock(impl_->mu);
  impl_->off = false;
  impl_->files.clear();
  impl_->fail_sync_suffix.clear();
  impl_->fail_thread_syncs = 0;
}

void FaultVfs::FailNextSyncsFromThread(const std::string& thread_name, const std::string& suffix,
                                       int n) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_thread = thread_name;
  impl_->fail_thread_suffix = suffix;
  impl_->fail_thread_syncs = n;
}

void FaultVfs::FailSyncsOf(const std::string& suffix) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_sync_suffix = suffix;
}

void FaultVfs::CountSync() { syncs_.fetch_add(1); }

}  // namespace flare::testing
