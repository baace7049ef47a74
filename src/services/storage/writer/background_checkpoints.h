// Runs the store's checkpoints on a thread of their own, so that folding the
// log into the main files never holds up a batch: the writer only pokes it
// after each batch, and a poke while a checkpoint runs is folded into one
// more run afterwards.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/result.h"

namespace flare {

class BackgroundCheckpoints {
 public:
  // `checkpoint` is called on the background thread only, one call at a time.
  explicit BackgroundCheckpoints(std::function<Status()> checkpoint);
  ~BackgroundCheckpoints();  // Stop()

  void Start();
  // Asks for a checkpoint soon. Cheap; callable from any thread.
  void Poke();
  // Finishes a checkpoint in progress and joins the thread; pokes after
  // this are ignored.
  void Stop();

 private:
  void Run();

  std::function<Status()> checkpoint_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace flare
