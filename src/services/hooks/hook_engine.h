// hook-engine: calls business servers' hooks in the message path
// (docs/architecture.md, "Hooks"). Pre-* hooks run in priority order, each
// may reject the action or rewrite the message; post-* hooks are queued
// and delivered asynchronously with retries and exponential backoff on the
// Clock, then dead-lettered. Knows nothing of HTTP: calls go through a
// HookTransport.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hook_config.h"
#include "ports/hook_dead_letters.h"
#include "ports/hook_transport.h"
#include "services/hooks/hook_stats.h"

namespace flare {

struct HookEngineOptions {
  size_t max_queued_deliveries = 100'000;  // post-* deliveries waiting; more are dropped, counted
  int64_t pump_interval_ms = 20;           // how often due retries are looked for
  // A rewrite that makes content + attachments + attributes + quote larger
  // than this is a failure of the hook (its failure policy applies); 0 = no
  // limit. The embedded server passes gateway.max_message_bytes.
  size_t max_message_bytes = 0;
};

// The outcome of the pre-send hooks: status OK and the message to store
// (maybe rewritten), or the refusal the sender gets (with the rejecting
// hook's own code; 0 when a hook failed under fail_closed).
struct PreSendVerdict {
  Status status;
  int32_t hook_code = 0;
  Message message;
};
using PreSendDone = std::function<void(PreSendVerdict)>;

// Who a login hook is about; `event_id` names the call (no message has one).
struct HookUser {
  std::string user_id, device, platform, event_id;
};

class HookEngine {
 public:
  HookEngine(HookTransport& transport, HookDeadLetters& dead_letters, const Clock& clock,
             Metrics* metrics, HookEngineOptions options = {});
  ~HookEngine();

  // Replaces the hooks (validated first; on error the old set stays).
  // Calls in flight finish with the hook they started with.
  Status Configure(const std::vector<HookConfig>& hooks);
  // The hooks in force, in the order they run (priority, then as listed).
  std::vector<HookConfig> Hooks() const;
  void Start();  // the thread that delivers due post-* retries
  // Stops delivering; deliveries still queued are dead-lettered.
  void Stop();

  // Whether any hook of the pre-* `point` selects this message (cheap; no call made).
  bool SelectsPre(const std::string& point, const std::string& tenant,
                  const Message& message) const;
  bool SelectsPreSend(const std::string& tenant, const Message& message) const {
    return SelectsPre("pre_send", tenant, message);
  }
  // Runs the selected hooks of the pre-* `point` (`action` names what is
  // done, for points with several: "recall", "edit", ...); `done` runs
  // once, on a transport thread (or on this one when no hook is selected
  // or none could be called). Only pre_send hooks may rewrite the message;
  // the others may only reject.
  // `user`: for the points about a login (pre_login), who logs in.
  void RunPre(const std::string& point, const std::string& action, const std::string& tenant,
              Message message, PreSendDone done, const HookUser& user = {});
  void RunPreSend(const std::string& tenant, Message message, PreSendDone done) {
    RunPre("pre_send", "", tenant, std::move(message), std::move(done));
  }
  // Queues the message (or event) for every selected hook of the post-*
  // `point`; never blocks on a hook (called by the storage writer's
  // syncer thread).
  // `user_id`: for the points about a user; `event_key`: what the
  // delivery's event id starts with (default: the message's server id).
  void Post(const std::string& point, const std::string& action, const std::string& tenant,
            const Message& message, const std::string& user_id = "",
            const std::string& event_key = "");
  void PostSend(const std::string& tenant, const Message& message) {
    Post("post_send", "", tenant, message);
  }

  // Starts every queued delivery that is due and whose hook has room.
  void Pump();
  size_t QueuedDeliveries() const;
  std::shared_ptr<HookStats> Stats(const std::string& hook) { return stats_.For(hook); }
  // Of every hook configured since start (deleted ones too), by name.
  std::map<std::string, std::shared_ptr<HookStats>> AllStats() const { return stats_.All(); }
  HookDeadLetters& dead_letters() { return dead_letters_; }

 private:
  struct Hook;
  struct Delivery;
  class PreSendRun;
  using HookList = std::vector<std::shared_ptr<Hook>>;

  Status ConfigureLocked(const std::vector<HookConfig>& hooks);  // under configure_mu_
  std::shared_ptr<const HookList> Snapshot() const;
  HookList Select(const std::string& point, const std::string& tenant,
                  const Message& message) const;
  void Deliver(Delivery delivery);
  void OnDelivered(Delivery delivery, const HookCallResult& result, int64_t started_ms);
  void DeadLetter(const Delivery& delivery);
  void RunPump();

  HookTransport& transport_;
  HookDeadLetters& dead_letters_;
  const Clock& clock_;
  HookEngineOptions options_;
  HookStatsRegistry stats_;

  std::mutex configure_mu_;  // one Configure at a time
  mutable std::mutex hooks_mu_;
  std::shared_ptr<const HookList> hooks_;
  // Whether any pre-*/post-* hook is configured: sends, operations and
  // stored messages skip the lock without.
  std::atomic<bool> any_pre_{false};
  std::atomic<bool> any_post_{false};

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::multimap<int64_t, Delivery> queue_;  // by due time (Clock::MonotonicMs)
  bool stopping_ = false;
  std::thread pump_;
};

}  // namespace flare
