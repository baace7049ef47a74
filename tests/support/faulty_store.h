// A MessageStore wrapper that injects write failures (leveldb's
// fault-injection idea): everything else goes to the wrapped store.
#pragma once

#include <atomic>

#include "ports/message_store.h"

namespace flare::testing {

class FaultyStore final : public MessageStore {
 public:
  explicit FaultyStore(MessageStore& base) : base_(base) {}
  void FailNextWrites(int n) { fail_writes_ = n; }
  int writes() const { return writes_; }

  Status Write(const WriteBatch& batch) override {
    ++writes_;
    if (fail_writes_ > 0) {
      --fail_writes_;
      return IoError("injected write failure");
    }
    return base_.Write(batch);
  }
  Result<int64_t> MaxSeq(const std::string& t, const std::string& c) override {
    return base_.MaxSeq(t, c);
  }
  Result<std::optional<Message>> FindByClientMsgId(const std::string& t, const std::string& s,
                                                   const std::string& id) override {
    return base_.FindByClientMsgId(t, s, id);
  }
  Result<std::vector<std::optional<Message>>> FindByClientMsgIds(
      const std::vector<IdempotencyKeyRef>& keys) override {
    return base_.FindByClientMsgIds(keys);
  }
  Result<std::vector<Message>> ReadAfter(const std::string& t, const std::string& c, int64_t a,
                                         int l) override {
    return base_.ReadAfter(t, c, a, l);
  }
  Result<int64_t> CountAfter(const std::string& t, const std::string& c, int64_t a,
                             const std::string& e) override {
    return base_.CountAfter(t, c, a, e);
  }
  Result<std::optional<Message>> Last(const std::string& t, const std::string& c) override {
    return base_.Last(t, c);
  }
  Result<bool> MentionedAfter(const std::string& t, const std::string& c, int64_t a,
                              const std::string& u) override {
    return base_.MentionedAfter(t, c, a, u);
  }
  Result<std::optional<Message>> Get(const std::string& t, const std::string& c,
                                     int64_t seq) override {
    return base_.Get(t, c, seq);
  }

 private:
  MessageStore& base_;
  std::atomic<int> fail_writes_{0};
  std::atomic<int> writes_{0};
};

}  // namespace flare::testing
