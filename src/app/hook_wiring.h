// The hook engine of a role process, built from config as the embedded
// server builds its own: dead letters (storage.backend), a transport for
// http(s):// and grpc:// hooks, the engine with the [[hooks]] of the
// config, started. The message-orchestrator role puts its pre-* hooks in
// front of the ingest stream, the storage-writer role its post-send hooks
// behind the writer.
#pragma once

#include <memory>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "ports/hook_dead_letters.h"
#include "ports/hook_transport.h"
#include "services/hooks/hook_engine.h"

namespace flare {

class HookStack {
 public:
  static Result<std::unique_ptr<HookStack>> Open(const Config& config, Metrics* metrics);
  ~HookStack() { Close(); }
  HookEngine& engine() { return *engine_; }
  // Fails calls in flight, stops the engine (what is queued is
  // dead-lettered). Idempotent.
  void Close();

 private:
  HookStack() = default;
  std::unique_ptr<HookDeadLetters> dead_letters_;
  std::unique_ptr<HookTransport> transport_;
  std::unique_ptr<HookEngine> engine_;
  bool closed_ = false;
};

}  // namespace flare
