#include "common/connection_quota.h"

#include <algorithm>
#include <functional>

namespace flare {

ConnectionQuota::Shard& ConnectionQuota::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

const ConnectionQuota::Shard& ConnectionQuota::ShardFor(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

bool ConnectionQuota::Acquire(const std::string& key, uint64_t session, size_t limit) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto& holders = shard.holders[key];
  if (std::find(holders.begin(), holders.end(), session) != holders.end()) return true;
  if (holders.size() >= limit) {
    if (holders.empty()) shard.holders.erase(key);  // limit 0: leave no empty entry
    return false;
  }
  holders.push_back(session);
  return true;
}

void ConnectionQuota::Release(const std::string& key, uint64_t session) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.holders.find(key);
  if (it == shard.holders.end()) return;
  std::erase(it->second, session);
  if (it->second.empty()) shard.holders.erase(it);
}

size_t ConnectionQuota::Count(const std::string& key) const {
  const Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.holders.find(key);
  return it == shard.holders.end() ? 0 : it->second.size();
}

QuotaSlot::QuotaSlot(std::shared_ptr<ConnectionQuota> quota, std::string key, uint64_t holder,
                     size_t limit)
    : key_(std::move(key)), holder_(holder) {
  if (quota && quota->Acquire(key_, holder_, limit)) quota_ = std::move(quota);
}

QuotaSlot& QuotaSlot::operator=(QuotaSlot&& other) noexcept {
  if (this != &other) {
    Release();
    quota_ = std::move(other.quota_);
    key_ = std::move(other.key_);
    holder_ = other.holder_;
  }
  return *this;
}

void QuotaSlot::Release() {
  if (quota_ == nullptr) return;
  quota_->Release(key_, holder_);
  quota_.reset();
}

}  // namespace flare
