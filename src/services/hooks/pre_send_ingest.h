// The pre-send and pre_message_op hook points in front of the ingest
// stream: a MessageIngest that runs a send's pre-send hooks (or a message
// operation's pre_message_op hooks), then hands it on (a send maybe
// rewritten) or answers the refusal to the sender through CommandReplies.
// Submit returns at once: the gateway's I/O thread never waits for a hook,
// and commands of different senders or conversations wait for their hooks
// concurrently. One sender's sends and operations in one conversation
// leave in the order they came, also when a later one's hook answers first.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "services/hooks/hook_engine.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

class PreSendIngest final : public MessageIngest {
 public:
  // `replies` takes refusals and what `next` refused after a hook ran.
  PreSendIngest(HookEngine& engine, MessageIngest& next, CommandReplies& replies,
                size_t max_waiting = 10'000)
      : engine_(engine), next_(next), replies_(replies), max_waiting_(max_waiting) {}

  // kUnavailable when max_waiting sends are already waiting for hooks.
  Status Submit(Command command) override;

 private:
  struct Slot {
    Command command;
    bool ready = false;
    int32_t hook_code = 0;
    Status refusal;  // not OK: answered instead of handed on
  };
  // The sends of one sender in one conversation, oldest first.
  struct Lane {
    std::deque<std::shared_ptr<Slot>> slots;
    bool releasing = false;  // a thread is handing the ready head on
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Lane> lanes;
  };

  Shard& ShardOf(const std::string& key);
  void Complete(const std::string& key, const std::shared_ptr<Slot>& slot);
  void Release(Slot& slot);

  HookEngine& engine_;
  MessageIngest& next_;
  CommandReplies& replies_;
  size_t max_waiting_;
  std::atomic<size_t> waiting_{0};
  std::array<Shard, 16> shards_;
};

// The post-* hook points after commit: queues each newly stored message
// for its post_send hooks, each recall/edit/reaction/delete event for its
// post_message_op hooks and each conversation change (created, member
// joined/left/removed, dismissed) for its post_conversation hooks (never
// waiting on one), then hands the batch to the next listener (push).
class PostSendListener final : public StoredListener {
 public:
  PostSendListener(HookEngine& engine, StoredListener& next) : engine_(engine), next_(next) {}
  void OnStored(std::vector<CommittedMessage>& messages) override;
  void OnReadMoved(const std::vector<ReadMove>& moves) override { next_.OnReadMoved(moves); }

 private:
  HookEngine& engine_;
  StoredListener& next_;
};

}  // namespace flare
