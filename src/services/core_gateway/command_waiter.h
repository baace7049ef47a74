// How the HTTP API waits for the pipeline: a command it hands to the
// orchestrator carries a reply address of this process's gateway, with a
// number and a request id marked as the API's (IsApiReplyAddress); the
// outcome comes back to that gateway whichever path it takes (the writer of
// this process, the gateway inbox, the delivery service), and the gateway
// hands it here (Gateway::SetApiReplies).
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
  // reports it (the writer's: keep `done` short). `request_id` is carried
  // for tracing.
  ReplyAddress Expect(Done done, const std::string& request_id = "");
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

}  // namespace flare
