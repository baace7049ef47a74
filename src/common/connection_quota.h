// Counts connections per key (a user, a source address) against a limit.
// Each key remembers which sessions hold its slots, so releasing twice or
// releasing a session that never got a slot is harmless. Sharded: opening
// or closing a connection locks one shard; messages never touch it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace flare {

class ConnectionQuota {
 public:
  // True if `session` holds one of `key`'s `limit` slots (it may hold one already).
  bool Acquire(const std::string& key, uint64_t session, size_t limit);
  void Release(const std::string& key, uint64_t session);
  size_t Count(const std::string& key) const;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<uint64_t>> holders;
  };
  Shard& ShardFor(const std::string& key);
  const Shard& ShardFor(const std::string& key) const;

  std::array<Shard, kShards> shards_;
};

// One slot of a shared quota, given back when released or destroyed (the
// quota lives as long as a slot of it does).
class QuotaSlot {
 public:
  QuotaSlot() = default;
  // Takes one of `key`'s `limit` slots for `holder`; empty (false) when full.
  QuotaSlot(std::shared_ptr<ConnectionQuota> quota, std::string key, uint64_t holder, size_t limit);
  QuotaSlot(QuotaSlot&& other) noexcept = default;
  QuotaSlot& operator=(QuotaSlot&& other) noexcept;
  QuotaSlot(const QuotaSlot&) = delete;
  QuotaSlot& operator=(const QuotaSlot&) = delete;
  ~QuotaSlot() { Release(); }

  explicit operator bool() const { return quota_ != nullptr; }
  void Release();

 private:
  std::shared_ptr<ConnectionQuota> quota_;  // null: no slot held
  std::string key_;
  uint64_t holder_ = 0;
};

}  // namespace flare
