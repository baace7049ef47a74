// The hook engine of a role process, built from config as the embedded
// server builds its own: dead letters (storage.backend), a transport for
// http(s):// and grpc:// hooks, the engine with the [[hooks]] of the
// config, or the hook list the admin API saved (HookSettings over
// OpenSettingsStore, re-read every hook_admin.reload_interval_ms), started.
// The message-orchestrator role puts its pre-* hooks in front of the
// ingest stream, the storage-writer role its post-send hooks behind the
// writer; the hook-engine role serves the admin API over it.
#pragma once

#include <memory>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "ports/hook_dead_letters.h"
#include "ports/hook_transport.h"
#include "ports/settings_store.h"
#include "services/hooks/hook_engine.h"
#include "services/hooks/hook_settings.h"

namespace flare {

class HookStack {
 public:
  static Result<std::unique_ptr<HookStack>> Open(const Config& config, Metrics* metrics);
  ~HookStack() { Close(); }
  HookEngine& engine() { return *engine_; }
  HookSettings& settings() { return *settings_; }
  // Stops reloading, fails calls in flight, stops the engine (what is
  // queued is dead-lettered). Idempotent.
  void Close();

 private:
  HookStack() = default;
  std::unique_ptr<HookDeadLetters> dead_letters_;
  std::unique_ptr<HookTransport> transport_;
  std::unique_ptr<HookEngine> engine_;
  std::shared_ptr<SettingsStore> settings_store_;
  std::unique_ptr<HookSettings> settings_;  // over engine_ and settings_store_
  bool closed_ = false;
};

// The HookSettings options of `config`.
HookSettingsOptions HookSettingsOptionsFrom(const Config& config);

// Applies the saved hook list at start (HookSettings::Load). A list that
// cannot be read or applied is logged and the config's [[hooks]] stay: the
// process starts, and a later save (or a fixed store) is picked up by the
// reload loop.
void LoadSavedHooks(HookSettings& settings);

}  // namespace flare
