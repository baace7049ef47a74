// Port: the push devices of users (one push token per tenant, user and
// device) and each user's notification preferences (muted conversations,
// do-not-disturb hours). Read by push-server's offline hand-off, written by
// the client protocol (register_device, mute, dnd) and the push API;
// push-worker disables a token a provider rejected for good.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct PushDevice {
  std::string tenant;
  std::string user_id;
  std::string device_id;
  std::string platform;  // "ios" (APNs) | "android" (FCM) | "webhook"
  std::string token;
  std::string locale;    // BCP 47, e.g. "en-US"; may be empty
  bool disabled = false;  // a provider said the token is gone
  std::string disabled_reason;
  int64_t updated_ms = 0;
};

// Do-not-disturb hours in the user's local time: [start, end) minutes of
// the day, wrapping past midnight when end <= start.
struct DndWindow {
  int start_minute = 0;
  int end_minute = 0;
  int utc_offset_minutes = 0;
};

struct PushPreferences {
  std::optional<DndWindow> dnd;
  // conversation id -> muted until (ms since epoch); -1 = until unmuted.
  std::map<std::string, int64_t> muted_until_ms;
};

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;
  // Inserts or replaces (tenant, user, device); a re-registered token is
  // enabled again. A token moved to another user or device leaves the old
  // entry (one token, one device).
  virtual Status Register(const PushDevice& device) = 0;
  virtual Status Unregister(const std::string& tenant, const std::string& user_id,
                            const std::string& device_id) = 0;
  // The devices of each of `users` (disabled ones included), in one call:
  // push-server asks once per committed batch.
  virtual Result<std::vector<PushDevice>> DevicesOf(const std::string& tenant,
                                                    std::span<const std::string> users) = 0;
  // Marks every device holding `token` on `platform` disabled.
  virtual Status DisableToken(const std::string& tenant, const std::string& platform,
                              const std::string& token, const std::string& reason) = 0;
  // until_ms: 0 unmutes, -1 mutes until unmuted.
  virtual Status SetMute(const std::string& tenant, const std::string& user_id,
                         const std::string& conversation_id, int64_t until_ms) = 0;
  // nullopt clears the window.
  virtual Status SetDoNotDisturb(const std::string& tenant, const std::string& user_id,
                                 const std::optional<DndWindow>& window) = 0;
  virtual Result<PushPreferences> Preferences(const std::string& tenant,
                                              const std::string& user_id) = 0;
};

}  // namespace flare
