// A bounded multi-producer, single-consumer queue whose producers take no
// lock: a push is one compare-and-swap onto a stack that the consumer takes
// whole and reverses into arrival order. The consumer sleeps on a condition
// variable only when the queue is empty, and producers touch the mutex only
// to wake a sleeping consumer. Taken items still count against the
// capacity until the consumer Release()s them, so work the consumer holds
// but has not finished (a backlog) is bounded too.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace flare {

template <typename T>
class MpscQueue {
 public:
  explicit MpscQueue(size_t capacity) : capacity_(capacity) {}
  ~MpscQueue() {
    for (Node* n = head_.load(); n != nullptr;) {
      Node* next = n->next;
      delete n;
      n = next;
    }
  }
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // False (and `value` untouched in effect) when full or closed.
  bool Push(T&& value) {
    pushers_.fetch_add(1);
    bool counted = !closed_.load();
    bool ok = counted && size_.fetch_add(1) < capacity_;
    if (ok) {
      Node* node = new Node{std::move(value), head_.load(std::memory_order_relaxed)};
      while (!head_.compare_exchange_weak(node->next, node)) {
      }
      if (sleeping_.load()) {
        std::lock_guard lock(mu_);
        cv_.notify_one();
      }
    } else if (counted) {
      size_.fetch_sub(1);  // full: undo the reservation
    }
    pushers_.fetch_sub(1);
    return ok;
  }

  // Everything queued, oldest first; waits while the queue is empty. Returns
  // empty only once the queue is closed and drained. The items keep their
  // place in the capacity until Release.
  std::vector<T> PopAll() {
    for (;;) {
      if (Node* list = head_.exchange(nullptr)) return Unwind(list);
      if (closed_.load()) {
        if (pushers_.load() == 0) {
          if (Node* list = head_.exchange(nullptr)) return Unwind(list);
          return {};
        }
        std::this_thread::yield();  // a push that saw the queue open is finishing
        continue;
      }
      std::unique_lock lock(mu_);
      sleeping_.store(true);
      cv_.wait(lock, [this] { return head_.load() != nullptr || closed_.load(); });
      sleeping_.store(false);
    }
  }

  // Pushes fail from now on; PopAll returns what is left, then empty.
  void Close() {
    closed_.store(true);
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }

  // The consumer is done with `n` taken items: they no longer count.
  void Release(size_t n) { size_.fetch_sub(n); }

  // Queued plus taken and not yet released.
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Node {
    T value;
    Node* next;
  };

  std::vector<T> Unwind(Node* list) {
    std::vector<T> out;
    for (Node* n = list; n != nullptr;) {  // newest first
      out.push_back(std::move(n->value));
      Node* next = n->next;
      delete n;
      n = next;
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  const size_t capacity_;
  std::atomic<Node*> head_{nullptr};
  std::atomic<size_t> size_{0};
  std::atomic<int> pushers_{0};
  std::atomic<bool> closed_{false};
  std::atomic<bool> sleeping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace flare
