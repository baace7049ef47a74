// Gateway handlers for push devices and notification preferences. The
// device is always the authenticated session's; the store is called on a
// read thread, never on an I/O thread.
#include <array>

#include "services/signaling/gateway/gateway.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {

constexpr std::array<const char*, 3> kPlatforms = {"ios", "android", "webhook"};
constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kMaxLocaleBytes = 35;  // BCP 47's longest practical tag
constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMinUtcOffset = -12 * 60;  // UTC-12
constexpr int kMaxUtcOffset = 14 * 60;   // UTC+14

Status CheckDevice(const pb::RegisterDeviceRequest& r) {
  bool known = false;
  for (const char* p : kPlatforms) known |= r.platform() == p;
  if (!known) {
    return InvalidArgument("unknown platform '" + r.platform() + "'; one of ios, android, webhook");
  }
  if (r.token().empty()) return InvalidArgument("token must not be empty");
  if (r.token().size() > kMaxTokenBytes) {
    return InvalidArgument("token must be at most " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  if (r.locale().size() > kMaxLocaleBytes) {
    return InvalidArgument("locale must be at most " + std::to_string(kMaxLocaleBytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckDoNotDisturb(const pb::DoNotDisturbRequest& r) {
  if (r.clear()) return Status::Ok();
  for (int minute : {r.start_minute(), r.end_minute()}) {
    if (minute < 0 || minute >= kMinutesPerDay) {
      return InvalidArgument("start_minute and end_minute must be in 0..1439, not " +
                             std::to_string(minute));
    }
  }
  if (r.utc_offset_minutes() < kMinUtcOffset || r.utc_offset_minutes() > kMaxUtcOffset) {
    return InvalidArgument("utc_offset_minutes must be in -720..840, not " +
                           std::to_string(r.utc_offset_minutes()));
  }
  return Status::Ok();
}

}  // namespace

void Gateway::OnDeviceStore(const SessionPtr& s, const std::string& request_id,
                            std::function<Status(DeviceStore&)> call) {
  if (deps_.devices == nullptr) {
    return s->ReplyError(request_id, pb::ERROR_CODE_UNAVAILABLE,
                         "push devices are not available on this server");
  }
  OnReadThread(s, request_id, [this, s, request_id, call = std::move(call)] {
    Status st = call(*deps_.devices);
    if (!st.ok()) return s->ReplyStatus(request_id, st);
    pb::ServerFrame ok;
    ok.mutable_ok();
    s->Reply(request_id, ok);
  });
}

void Gateway::HandleRegisterDevice(const SessionPtr& s, const Principal& who,
                                   const pb::ClientFrame& f) {
  const auto& r = f.register_device();
  if (Status st = CheckDevice(r); !st.ok()) return s->ReplyStatus(f.request_id(), st);
  PushDevice device{who.tenant, who.user_id, who.device, r.platform(),       r.token(),
                    r.locale(), false,       "",         deps_.clock.NowMs()};
  OnDeviceStore(s, f.request_id(), [device = std::move(device)](DeviceStore& store) {
    return store.Register(device);
  });
}

void Gateway::HandleUnregisterDevice(const SessionPtr& s, const Principal& who,
                                     const pb::ClientFrame& f) {
  OnDeviceStore(s, f.request_id(), [who](DeviceStore& store) {
    return store.Unregister(who.tenant, who.user_id, who.device);
  });
}

void Gateway::HandleMute(const SessionPtr& s, const Principal& who, const pb::ClientFrame& f) {
  const auto& r = f.mute_conversation();
  if (r.until_ms() < -1) {
    return s->ReplyError(f.request_id(), pb::ERROR_CODE_INVALID_ARGUMENT,
                         "until_ms must be a time (ms since the epoch), 0 or -1");
  }
  OnDeviceStore(s, f.request_id(), [this, who, r](DeviceStore& store) -> Status {
    // Only a conversation of the user's own can be muted.
    auto conv = deps_.access.Resolve(who, "", r.conversation_id());
    if (!conv.ok()) return conv.status();
    return store.SetMute(who.tenant, who.user_id, conv->conversation_id, r.until_ms());
  });
}

void Gateway::HandleDoNotDisturb(const SessionPtr& s, const Principal& who,
                                 const pb::ClientFrame& f) {
  const auto& r = f.do_not_disturb();
  if (Status st = CheckDoNotDisturb(r); !st.ok()) return s->ReplyStatus(f.request_id(), st);
  std::optional<DndWindow> window;
  if (!r.clear()) window = DndWindow{r.start_minute(), r.end_minute(), r.utc_offset_minutes()};
  OnDeviceStore(s, f.request_id(), [who, window](DeviceStore& store) {
    return store.SetDoNotDisturb(who.tenant, who.user_id, window);
  });
}

}  // namespace flare
