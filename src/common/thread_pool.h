// A fixed pool of threads for blocking work (storage reads), so that I/O
// threads never block. The queue is bounded: Submit refuses when full.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flare {

class ThreadPool {
 public:
  ThreadPool(int threads, size_t max_queue);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue is full or the pool is stopping.
  bool Submit(std::function<void()> task);
  // Runs what is queued, then joins the threads.
  void Stop();

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flare
