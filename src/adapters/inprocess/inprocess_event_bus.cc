#include "adapters/inprocess/inprocess_event_bus.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

namespace flare {

struct InProcessPartition {
  std::deque<BusRecord> records;  // records[i].offset == first_offset + i
  int64_t first_offset = 0;
  int64_t next_offset = 0;
};

struct InProcessTopic {
  std::vector<InProcessPartition> partitions;
};

struct InProcessGroup {
  std::string topic;
  std::vector<uint64_t> members;                 // in join order
  std::map<uint64_t, std::set<int32_t>> target;  // what each member should own
  std::map<int32_t, uint64_t> owner;             // who holds a partition now
  std::vector<int64_t> committed;                // next offset to read, per partition
};

struct InProcessHub {
  std::mutex mu;
  std::condition_variable changed;  // new records, joins, leaves, released partitions
  std::map<std::string, InProcessTopic> topics;
  std::map<std::string, InProcessGroup> groups;  // by group id + '\n' + topic
  uint64_t next_member = 1;

  // Spreads the group's partitions over its members: p -> members[p % n].
  void Retarget(InProcessGroup& group) {
    group.target.clear();
    for (uint64_t m : group.members) group.target[m];
    int32_t count = static_cast<int32_t>(topics[group.topic].partitions.size());
    for (int32_t p = 0; p < count && !group.members.empty(); ++p) {
      group.target[group.members[p % group.members.size()]].insert(p);
    }
    changed.notify_all();
  }

  // Drops records that every group reading the topic has committed.
  void Trim(const std::string& topic_name, int32_t partition) {
    int64_t lowest = INT64_MAX;
    for (const auto& [id, group] : groups) {
      if (group.topic == topic_name) lowest = std::min(lowest, group.committed[partition]);
    }
    InProcessPartition& part = topics[topic_name].partitions[partition];
    while (!part.records.empty() && part.first_offset < lowest) {
      part.records.pop_front();
      ++part.first_offset;
    }
  }
};

int32_t InProcessPartitionFor(std::string_view key, int32_t partitions) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 16777619u;
  }
  return static_cast<int32_t>(hash % static_cast<uint32_t>(partitions));
}

namespace {

class InProcessProducer final : public BusProducer {
 public:
  explicit InProcessProducer(std::shared_ptr<InProcessHub> hub) : hub_(std::move(hub)) {}

  Status Publish(const std::string& topic, std::string_view key, std::string_view value,
                 std::function<void(Status)> done) override {
    {
      std::lock_guard lock(hub_->mu);
      auto it = hub_->topics.find(topic);
      if (it == hub_->topics.end()) return NotFound("event bus: no topic '" + topic + "'");
      int32_t p = InProcessPartitionFor(key, static_cast<int32_t>(it->second.partitions.size()));
      InProcessPartition& part = it->second.partitions[p];
      part.records.push_back(
          BusRecord{topic, p, part.next_offset++, std::string(key), std::string(value)});
      hub_->changed.notify_all();
    }
    if (done) done(Status::Ok());
    return Status::Ok();
  }

  // Publish stores synchronously: nothing is ever outstanding.
  Status Flush(int) override { return Status::Ok(); }

 private:
  std::shared_ptr<InProcessHub> hub_;
};

class InProcessConsumer final : public BusConsumer {
 public:
  InProcessConsumer(std::shared_ptr<InProcessHub> hub, std::string group_id,
                    ConsumerOptions options)
      : hub_(std::move(hub)), group_id_(std::move(group_id)), options_(options) {}
  ~InProcessConsumer() override { (void)Close(); }

  Status Subscribe(const std::string& topic, BusConsumerListener* listener) override {
    std::lock_guard lock(hub_->mu);
    if (member_ != 0) return InvalidArgument("event bus: consumer already subscribed");
    auto topic_it = hub_->topics.find(topic);
    if (topic_it == hub_->topics.end()) return NotFound("event bus: no topic '" + topic + "'");
    group_key_ = group_id_ + '\n' + topic;
    auto [it, created] = hub_->groups.try_emplace(group_key_);
    InProcessGroup& group = it->second;
    if (created) {
      group.topic = topic;
      // A new group starts at the oldest record still held (Kafka's
      // "earliest"), or at the end when it wants only new records.
      for (const auto& part : topic_it->second.partitions) {
        group.committed.push_back(options_.start_at_latest ? part.next_offset : part.first_offset);
      }
    }
    member_ = hub_->next_member++;
    listener_ = listener;
    group.members.push_back(member_);
    hub_->Retarget(group);
    return Status::Ok();
  }

  Result<std::vector<BusRecord>> Poll(int max_records, int timeout_ms) override {
    if (member_ == 0 || closed_)
      return InvalidArgument("event bus: poll on a consumer not subscribed or closed");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::vector<BusRecord> out;
    std::unique_lock lock(hub_->mu);
    while (true) {
      Rebalance(lock);
      Collect(max_records, out);
      if (!out.empty()) return out;
      if (hub_->changed.wait_until(lock, deadline) == std::cv_status::timeout) {
        Rebalance(lock);
        Collect(max_records, out);
        return out;
      }
    }
  }

  Status Commit(int32_t partition, int64_t next_offset) override {
    std::lock_guard lock(hub_->mu);
    if (!owned_.count(partition)) {
      return Aborted("event bus: partition " + std::to_string(partition) +
                     " is not assigned to this consumer");
    }
    InProcessGroup& group = hub_->groups[group_key_];
    const InProcessPartition& part = hub_->topics[group.topic].partitions[partition];
    if (next_offset < 0 || next_offset > part.next_offset) {
      return InvalidArgument("event bus: commit offset " + std::to_string(next_offset) +
                             " beyond partition end " + std::to_string(part.next_offset));
    }
    group.committed[partition] = next_offset;
    hub_->Trim(group.topic, partition);
    return Status::Ok();
  }

  std::map<int32_t, int64_t> Lag() override {
    std::lock_guard lock(hub_->mu);
    std::map<int32_t, int64_t> lag;
    if (member_ == 0 || closed_) return lag;
    const InProcessTopic& topic = hub_->topics[hub_->groups[group_key_].topic];
    for (int32_t p : owned_) {
      const InProcessPartition& part = topic.partitions[p];
      lag[p] = part.next_offset - std::max(position_[p], part.first_offset);
    }
    return lag;
  }

  Status Close() override {
    if (member_ == 0 || closed_) return Status::Ok();
    closed_ = true;
    std::vector<int32_t> owned(owned_.begin(), owned_.end());
    if (!owned.empty() && listener_ != nullptr) listener_->OnRevoked(owned);
    std::lock_guard lock(hub_->mu);
    InProcessGroup& group = hub_->groups[group_key_];
    std::erase(group.members, member_);
    for (int32_t p : owned) group.owner.erase(p);
    owned_.clear();
    hub_->Retarget(group);
    return Status::Ok();
  }

 private:
  // Releases partitions no longer targeted at this member (after telling
  // the listener, which may still commit them) and takes the targeted ones
  // their previous owner has released, positioned at the group's commit.
  void Rebalance(std::unique_lock<std::mutex>& lock) {
    InProcessGroup& group = hub_->groups[group_key_];
    const std::set<int32_t>& target = group.target[member_];
    std::vector<int32_t> revoked;
    for (int32_t p : owned_) {
      if (!target.count(p)) revoked.push_back(p);
    }
    if (!revoked.empty()) {
      lock.unlock();
      if (listener_ != nullptr) listener_->OnRevoked(revoked);
      lock.lock();
      InProcessGroup& again = hub_->groups[group_key_];
      for (int32_t p : revoked) {
        again.owner.erase(p);
        owned_.erase(p);
        position_.erase(p);
      }
      hub_->changed.notify_all();
    }
    InProcessGroup& current = hub_->groups[group_key_];
    std::vector<int32_t> assigned;
    for (int32_t p : current.target[member_]) {
      if (owned_.count(p) || current.owner.count(p)) continue;
      current.owner[p] = member_;
      owned_.insert(p);
      position_[p] = current.committed[p];
      assigned.push_back(p);
    }
    if (!assigned.empty() && listener_ != nullptr) {
      lock.unlock();
      listener_->OnAssigned(assigned);
      lock.lock();
    }
  }

  // Appends up to `max_records` records of owned partitions, starting with
  // a different partition each time so no partition starves the others.
  void Collect(int max_records, std::vector<BusRecord>& out) {
    if (owned_.empty()) return;
    std::vector<int32_t> order(owned_.begin(), owned_.end());
    std::rotate(order.begin(), order.begin() + (next_start_++ % order.size()), order.end());
    InProcessTopic& topic = hub_->topics[hub_->groups[group_key_].topic];
    for (int32_t p : order) {
      const InProcessPartition& part = topic.partitions[p];
      int64_t& pos = position_[p];
      pos = std::max(pos, part.first_offset);
      while (pos < part.next_offset && static_cast<int>(out.size()) < max_records) {
        out.push_back(part.records[pos - part.first_offset]);
        ++pos;
      }
    }
  }

  std::shared_ptr<InProcessHub> hub_;
  std::string group_id_;
  ConsumerOptions options_;
  std::string group_key_;
  uint64_t member_ = 0;
  bool closed_ = false;
  BusConsumerListener* listener_ = nullptr;
  std::set<int32_t> owned_;
  std::map<int32_t, int64_t> position_;  // next offset to return
  size_t next_start_ = 0;
};

}  // namespace

InProcessEventBus::InProcessEventBus() : hub_(std::make_shared<InProcessHub>()) {}
InProcessEventBus::~InProcessEventBus() = default;

Result<std::unique_ptr<BusProducer>> InProcessEventBus::CreateProducer() {
  return std::unique_ptr<BusProducer>(std::make_unique<InProcessProducer>(hub_));
}

Result<std::unique_ptr<BusConsumer>> InProcessEventBus::CreateConsumer(
    const std::string& group_id, const ConsumerOptions& options) {
  if (group_id.empty()) return InvalidArgument("event bus: empty consumer group id");
  return std::unique_ptr<BusConsumer>(std::make_unique<InProcessConsumer>(hub_, group_id, options));
}

Status InProcessEventBus::CreateTopic(const std::string& name, int32_t partitions) {
  if (name.empty() || partitions < 1) {
    return InvalidArgument("event bus: a topic needs a name and at least one partition");
  }
  std::lock_guard lock(hub_->mu);
  if (hub_->topics.count(name)) return {Code::kAlreadyExists, "event bus: topic '" + name + "'"};
  hub_->topics[name].partitions.resize(partitions);
  return Status::Ok();
}

size_t InProcessEventBus::RetainedRecords(const std::string& topic) const {
  std::lock_guard lock(hub_->mu);
  auto it = hub_->topics.find(topic);
  if (it == hub_->topics.end()) return 0;
  size_t total = 0;
  for (const auto& part : it->second.partitions) total += part.records.size();
  return total;
}

}  // namespace flare
