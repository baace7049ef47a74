// A SQLite VFS over the default one that simulates a power loss, in the
// manner of leveldb's fault-injection env: it remembers every byte written
// since each file's last xSync, and PowerLoss() puts those bytes back as
// they were, removes files that were created and never synced, and from
// then on drops every write, sync and delete (the machine is off) until
// Restore(). File deletions are taken as durable at once: the pessimistic
// case for a store that deletes a log before its data is synced. A failed
// sync behaves as on Linux: the pages it did not write are lost (they read
// back as they were, or as zeros past the synced size, after a power loss)
// even if a later sync of the file succeeds.
#pragma once

#include <atomic>
#include <functional>
#include <string>

namespace flare::testing {

class FaultVfs {
 public:
  static constexpr const char* kName = "flare-fault";
  // Registers the VFS with SQLite (once per process) and returns it.
  static FaultVfs& Get();

  void PowerLoss();
  void Restore();  // accept writes again; every remembered file is forgotten
  // Makes xSync of files whose path ends with `suffix` fail (empty: none).
  void FailSyncsOf(const std::string& suffix);
  // Makes the next `n` xSyncs of such files fail when called from a thread
  // with this name (pthread name), e.g. only the writer thread's.
  void FailNextSyncsFromThread(const std::string& thread_name, const std::string& suffix, int n);
  int syncs() const { return syncs_.load(); }

  // Internal, for the VFS's C callbacks.
  struct Impl;
  void CountSync();

 private:
  FaultVfs();
  Impl* impl_;
  std::atomic<int> syncs_{0};
  friend struct Impl;
};

}  // namespace flare::testing
