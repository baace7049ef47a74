// Starts writes for the sessions of one I/O thread. Senders on other threads
// (the writer's fan-out) queue a session here; the first one posts a single
// flush to the I/O thread, which then starts every queued session's write:
// one cross-thread wake-up per batch of deliveries instead of one per
// recipient. `Session` has WriteNext(), run on the I/O thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace flare {

template <typename Session>
class WriteScheduler {
 public:
  explicit WriteScheduler(boost::asio::io_context& io) : io_(io) {}

  void Schedule(std::shared_ptr<Session> session) {
    bool first;
    {
      std::lock_guard lock(mu_);
      first = ready_.empty();
      ready_.push_back(std::move(session));
    }
    if (first) boost::asio::post(io_, [this] { Flush(); });
  }

  boost::asio::io_context& io() { return io_; }

 private:
  void Flush() {
    {
      std::lock_guard lock(mu_);
      flushing_.swap(ready_);
    }
    for (auto& session : flushing_) session->WriteNext();
    flushing_.clear();
  }

  boost::asio::io_context& io_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Session>> ready_;
  std::vector<std::shared_ptr<Session>> flushing_;  // I/O thread only
};

}  // namespace flare
