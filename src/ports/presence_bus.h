// Port: presence notices between gateways. A gateway publishes a notice
// about a user (coming online, going offline) and every gateway on the same
// backend - the publisher too - hands it to its listeners, which deliver it
// to their local subscribers of that user. In-process in embedded mode;
// Redis pub/sub (one channel per tenant) in cluster mode.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/config.h"
#include "common/result.h"

namespace flare {

class PresenceBus {
 public:
  // tenant, user, payload (opaque bytes: the publisher's encoded notice).
  using Listener = std::function<void(const std::string& tenant, const std::string& user_id,
                                      const std::string& payload)>;
  virtual ~PresenceBus() = default;

  // Sends `payload` about `user_id` to every listener of every bus on this
  // backend. Best effort: a gateway that is disconnected at that moment
  // misses it (presence queries still read the route table).
  virtual Status Publish(const std::string& tenant, const std::string& user_id,
                         const std::string& payload) = 0;
  // Listeners run on an adapter thread (memory: the publisher's), one notice
  // at a time per bus. Once RemoveListener returns, its listener is not running and
  // is not called again (do not call it from a listener).
  uint64_t AddListener(Listener listener) {
    std::lock_guard lock(listeners_mu_);
    listeners_.emplace(next_id_, std::move(listener));
    return next_id_++;
  }
  void RemoveListener(uint64_t id) {
    std::lock_guard lock(listeners_mu_);
    listeners_.erase(id);
  }

 protected:
  // Hands a notice to every listener of this bus (adapters call it for
  // each notice they receive).
  void Notify(const std::string& tenant, const std::string& user_id, const std::string& payload) {
    std::lock_guard lock(listeners_mu_);
    for (auto& [id, listener] : listeners_) listener(tenant, user_id, payload);
  }

 private:
  std::mutex listeners_mu_;  // held while listeners run: RemoveListener waits for them
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_id_ = 1;
};

// Builds the bus of presence.backend ("memory", "redis").
Result<std::shared_ptr<PresenceBus>> OpenPresenceBus(const Config& config);

}  // namespace flare
