#include "services/core_gateway/command_waiter.h"

namespace flare {

ReplyAddress CommandWaiter::Expect(Done done) {
  const int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(mu_);
  DropExpired(now);
  uint64_t id = next_++;
  waiting_.emplace(id, std::move(done));
  by_age_.emplace_back(now, id);
  return {gateway_id_, id, ""};
}

void CommandWaiter::Forget(const ReplyAddress& address) {
  std::lock_guard lock(mu_);
  waiting_.erase(address.session_id);
}

void CommandWaiter::OnCommandDone(const ReplyAddress& to, const CommandOutcome& outcome) {
  Done done;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(to.session_id);
    if (it == waiting_.end()) return;
    done = std::move(it->second);
    waiting_.erase(it);
  }
  done(outcome);
}

size_t CommandWaiter::pending() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

void CommandWaiter::DropExpired(int64_t now) {
  while (!by_age_.empty() && now - by_age_.front().first > forget_after_ms_) {
    waiting_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
}

}  // namespace flare
