#include "services/storage/writer/background_checkpoints.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace flare {

BackgroundCheckpoints::BackgroundCheckpoints(std::function<Status()> checkpoint)
    : checkpoint_(std::move(checkpoint)) {}

BackgroundCheckpoints::~BackgroundCheckpoints() { Stop(); }

void BackgroundCheckpoints::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "flare-ckpt");
    Run();
  });
}

void BackgroundCheckpoints::Poke() {
  {
    std::lock_guard lock(mu_);
    if (due_ || stopping_) return;
    due_ = true;
  }
  cv_.notify_one();
}

void BackgroundCheckpoints::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BackgroundCheckpoints::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // A failed checkpoint only leaves the log longer; the store itself
    // refuses further syncs when the failure may have lost pages.
    Status st = checkpoint_();
    if (!st.ok()) spdlog::warn("checkpoint failed: {}", st.ToString());
  }
}

}  // namespace flare
