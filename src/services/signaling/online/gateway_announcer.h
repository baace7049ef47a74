// Keeps this process's gateway findable in the gateway directory
// (bus.gateway_delivery = "grpc"): Start() announces its delivery address
// at once, then a thread announces it again every interval (a third of
// presence.gateway_ttl_ms, like the heartbeat) with a TTL of the gateway
// TTL, so a killed gateway's entry expires with its routes. Stop()
// withdraws it. A failed announcement is logged; the next one tries again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "ports/gateway_directory.h"

namespace flare {

class GatewayAnnouncer {
 public:
  GatewayAnnouncer(GatewayDirectory& directory, std::string gateway_id, std::string address,
                   std::chrono::milliseconds ttl)
      : directory_(directory),
        gateway_id_(std::move(gateway_id)),
        address_(std::move(address)),
        ttl_(ttl) {}
  ~GatewayAnnouncer() { Stop(); }
  GatewayAnnouncer(const GatewayAnnouncer&) = delete;
  GatewayAnnouncer& operator=(const GatewayAnnouncer&) = delete;

  // The first announcement's status (the thread starts either way).
  Status Start();
  void Stop();

 private:
  Status AnnounceOnce();
  void Run();
  GatewayDirectory& directory_;
  const std::string gateway_id_;
  const std::string address_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace flare
