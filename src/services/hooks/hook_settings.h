// The hook list shared by every process of a deployment: the admin API's
// changes saved as one versioned document in a SettingsStore (key
// "hooks"), and applied to this process's HookEngine at start and
// whenever another process saved a new version. Until a list was ever
// saved, each process keeps the [[hooks]] of its config; the first save
// starts from the saving process's list and replaces them everywhere.
//
// Put/Delete validate the new list as HookEngine::Configure does, then
// compare-and-set the whole list on the version this process read; when
// another process saved first (kAborted) they read again and redo the
// change, a bounded number of times. Poll() reads the store when
// `reload_interval_ms` passed on the Clock; the loop thread (Start) calls
// it, tests call it directly.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hook_config.h"
#include "common/result.h"
#include "ports/settings_store.h"
#include "services/hooks/hook_engine.h"

namespace flare {

struct HookSettingsOptions {
  int64_t reload_interval_ms = 2'000;
  int max_save_attempts = 8;  // compare-and-set rounds lost to other writers before kAborted
  std::string key = "hooks";  // the document's key in the store
};

class HookSettings {
 public:
  HookSettings(SettingsStore& store, HookEngine& engine, const Clock& clock,
               HookSettingsOptions options = {});
  ~HookSettings();  // stops the loop

  // At start: applies the stored list if one was ever saved (version > 0).
  // An unreachable store or a list that does not decode or validate is an
  // error and leaves the engine as it was.
  Status Load();
  // Adds `hook` or replaces the hook of its name (true then), saved for
  // the deployment and applied here. An invalid hook is InvalidArgument
  // and changes nothing.
  Result<bool> PutHook(const HookConfig& hook);
  // NotFound when the list has no hook of that name.
  Status DeleteHook(const std::string& name);

  // When `reload_interval_ms` passed since the last read: reads the store
  // and reconfigures the engine if the version changed. A list that does
  // not decode or validate leaves the engine as it was and is returned
  // (and kept in last_error()) until a later version replaces it.
  Status Poll();
  // A thread that calls Poll every reload_interval_ms, logging errors once
  // per version. Stop is idempotent.
  void Start();
  void Stop();

  int64_t applied_version() const;  // 0 while the config's [[hooks]] are in force
  Status last_error() const;

 private:
  // Reads the store; applies a version other than the one applied.
  Status Refresh();
  // Read, change (`edit` returns the new list or an error), validate,
  // compare-and-set, apply; again on kAborted.
  using Edit = std::function<Result<std::vector<HookConfig>>(std::vector<HookConfig>)>;
  Status Save(const Edit& edit);
  // The list a document holds; version 0: the engine's own.
  Result<std::vector<HookConfig>> ListOf(const VersionedDocument& document) const;
  void Run();

  SettingsStore& store_;
  HookEngine& engine_;
  const Clock& clock_;
  const HookSettingsOptions options_;

  mutable std::mutex mu_;  // one Load/Put/Delete/Poll at a time
  int64_t applied_version_ = 0;
  int64_t next_poll_ms_ = 0;
  int64_t failed_version_ = 0;  // the version last_error_ is about (logged once)
  Status last_error_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread loop_;
};

}  // namespace flare
