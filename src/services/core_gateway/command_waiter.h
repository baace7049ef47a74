// How the HTTP API waits for the pipeline: a command it hands to the
// orchestrator carries a reply address of this waiter (a gateway id of its
// own and a number), and the writer's outcome comes back through the same
// CommandReplies every gateway gets. ReplySplitter sends each outcome to the
// waiter or to the WebSocket gateway by that id.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

class CommandWaiter final : public CommandReplies {
 public:
  using Done = std::function<void(const CommandOutcome&)>;

  // An outcome not back within `forget_after_ms` is dropped (the HTTP call
  // has timed out long before).
  CommandWaiter(std::string gateway_id, const Clock& clock, int64_t forget_after_ms)
      : gateway_id_(std::move(gateway_id)), clock_(clock), forget_after_ms_(forget_after_ms) {}

  const std::string& gateway_id() const { return gateway_id_; }
  // A reply address whose outcome calls `done` once, on the thread that
  // reports it (the writer's: keep `done` short).
  ReplyAddress Expect(Done done);
  // The command never reached the pipeline: nothing will come back.
  void Forget(const ReplyAddress& address);
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override;
  size_t pending() const;

 private:
  void DropExpired(int64_t now);

  const std::string gateway_id_;
  const Clock& clock_;
  const int64_t forget_after_ms_;
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, Done> waiting_;
  std::deque<std::pair<int64_t, uint64_t>> by_age_;  // (expected at, id)
};

class ReplySplitter final : public CommandReplies {
 public:
  ReplySplitter(CommandWaiter& waiter, CommandReplies& others)
      : waiter_(waiter), others_(&others) {}
  void SetOthers(CommandReplies& others) { others_ = &others; }
  void OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) override {
    if (to.gateway_id == waiter_.gateway_id()) return waiter_.OnCommandDone(to, outcome);
    others_->OnCommandDone(to, outcome);
  }

 private:
  CommandWaiter& waiter_;
  CommandReplies* others_;
};

}  // namespace flare
