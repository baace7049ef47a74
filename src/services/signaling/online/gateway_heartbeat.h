// Keeps this process's gateway alive in the route table: a thread calls
// RouteTable::Heartbeat(gateway_id) at once and then every interval (a third
// of presence.gateway_ttl_ms in `flare serve`), so a killed process's routes
// stop counting as online one TTL after its last beat. A failed beat is
// logged and tried again after 100 ms, then 200 ms, doubling up to the
// interval (a Redis adapter reconnects then).
//
// When a beat reports the gateway lapsed, `repair(kEverySession)` registers
// the gateway's routes again (Gateway::RegisterRoutesAgain); while
// `incomplete` (if given) says some could not be, every later good beat
// calls `repair(kUnfinished)`. A good beat after none for `lapse_after` (the
// table's TTL; zero: never) counts as a lapse too: the beat that found the
// key gone may have lost its reply, and the beat after it finds the key that
// beat set.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "ports/route_table.h"

namespace flare {

class GatewayHeartbeat {
 public:
  GatewayHeartbeat(RouteTable& routes, std::string gateway_id, std::chrono::milliseconds interval,
                   std::function<void(RouteRepair)> repair = {},
                   std::function<bool()> incomplete = {},
                   std::chrono::milliseconds lapse_after = {},
                   const Clock& clock = SystemClock::Instance())
      : routes_(routes),
        gateway_id_(std::move(gateway_id)),
        interval_(interval),
        repair_(std::move(repair)),
        incomplete_(std::move(incomplete)),
        lapse_after_ms_(lapse_after.count()),
        clock_(clock) {}
  ~GatewayHeartbeat() { Stop(); }
  GatewayHeartbeat(const GatewayHeartbeat&) = delete;
  GatewayHeartbeat& operator=(const GatewayHeartbeat&) = delete;

  void Start();
  void Stop();
  uint64_t beats() const;   // successful heartbeats so far
  uint64_t lapses() const;  // times repair(kEverySession) was called

 private:
  static constexpr std::chrono::milliseconds kFirstRetry{100};
  void Run();
  // The repair a beat's outcome calls for, if any (the heartbeat thread's).
  std::optional<RouteRepair> RepairAfter(const Result<GatewayLiveness>& liveness);
  RouteTable& routes_;
  const std::string gateway_id_;
  const std::chrono::milliseconds interval_;
  const std::function<void(RouteRepair)> repair_;
  const std::function<bool()> incomplete_;
  const int64_t lapse_after_ms_;
  const Clock& clock_;
  int64_t last_good_ms_ = 0;  // the heartbeat thread's
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t beats_ = 0;
  uint64_t lapses_ = 0;
  std::thread thread_;
};

}  // namespace flare
