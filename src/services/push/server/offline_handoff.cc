#include "services/push/server/offline_handoff.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "push/v1/push.pb.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {

// Device and route lookups of at most this many users per call.
constexpr size_t kUsersPerLookup = 1'000;
constexpr int64_t kMinutesPerDay = 24 * 60;
constexpr size_t kExcerptBytes = 120;

std::string UserKey(const std::string& tenant, const std::string& user) {
  return tenant + '\n' + user;
}

const char* Placeholder(int type) {
  switch (type) {
    case pb::MESSAGE_TYPE_IMAGE:
      return "[image]";
    case pb::MESSAGE_TYPE_AUDIO:
      return "[audio]";
    case pb::MESSAGE_TYPE_VIDEO:
      return "[video]";
    case pb::MESSAGE_TYPE_FILE:
      return "[file]";
    case pb::MESSAGE_TYPE_LOCATION:
      return "[location]";
    case pb::MESSAGE_TYPE_CARD:
      return "[card]";
    default:
      return "[message]";
  }
}

}  // namespace

bool InDoNotDisturb(const DndWindow& w, int64_t now_ms) {
  int64_t utc_minute = now_ms / 60'000;
  int64_t local =
      ((utc_minute + w.utc_offset_minutes) % kMinutesPerDay + kMinutesPerDay) % kMinutesPerDay;
  if (w.start_minute < w.end_minute) return local >= w.start_minute && local < w.end_minute;
  // Wraps past midnight (end <= start; start == end is the whole day).
  return local >= w.start_minute || local < w.end_minute;
}

std::string Excerpt(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Back to the start of a UTF-8 sequence (never inside one).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\xE2\x80\xA6";  // …
}

OfflineMessage ToOfflineMessage(const std::string& tenant, const Message& m) {
  OfflineMessage o;
  o.tenant = tenant;
  o.conversation_id = m.conversation_id();
  o.seq = m.seq();
  o.server_msg_id = m.server_msg_id();
  o.sender = m.sender();
  o.sender_device = m.sender_device();
  o.type = m.type();
  o.text = Excerpt(m.content().text(), kExcerptBytes);
  return o;
}

std::pair<std::string, std::string> NotificationText(const OfflineMessage& m) {
  bool has_text = m.type == pb::MESSAGE_TYPE_TEXT || m.type == pb::MESSAGE_TYPE_UNSPECIFIED;
  std::string body = has_text && !m.text.empty() ? m.text : Placeholder(m.type);
  return {m.sender, std::move(body)};
}

// What one batch looked up, each at most once.
struct OfflineHandoff::BatchState {
  // tenant -> users who receive something in the batch
  std::map<std::string, std::vector<std::string>> users;
  std::unordered_map<std::string, std::vector<PushDevice>> devices;  // enabled, by user key
  std::unordered_map<std::string, std::optional<PushPreferences>> preferences;
  std::unordered_map<std::string, std::optional<int64_t>> badges;
  RoutesByUser* routes = nullptr;
  bool while_connected = false;  // an unacked-push report, not a batch
};

OfflineHandoff::OfflineHandoff(OfflineHandoffDeps deps, OfflineHandoffOptions options)
    : deps_(deps), options_(std::move(options)) {
  if (deps_.metrics != nullptr) {
    dropped_ = &deps_.metrics->AddCounter(
        "flare_push_offline_dropped_total",
        "batches, read moves and logins the offline hand-off's full queue dropped");
    tasks_ = &deps_.metrics->AddCounter("flare_push_offline_tasks_total",
                                        "push tasks the offline hand-off published");
    messages_ = &deps_.metrics->AddCounter("flare_push_offline_messages_total",
                                           "stored messages the offline hand-off looked at");
    logins_ = &deps_.metrics->AddCounter("flare_push_offline_logins_total",
                                         "device logins the offline hand-off applied");
    publish_failures_ =
        &deps_.metrics->AddCounter("flare_push_offline_publish_failures_total",
                                   "push tasks the event bus did not take or failed to store");
  }
}

OfflineHandoff::~OfflineHandoff() { Stop(); }

void OfflineHandoff::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OfflineHandoff::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) stop_deadline_ms_ = deps_.clock.MonotonicMs() + options_.stop_deadline_ms;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool OfflineHandoff::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool OfflineHandoff::DropWhatIsLeftAfterTheDeadline() {
  if (!stopping_ || deps_.clock.MonotonicMs() < stop_deadline_ms_) return false;
  size_t left = queue_.size() + online_.size();
  if (left > 0) {
    spdlog::warn("push: offline hand-off stopped with {} batches and logins not handled", left);
    if (dropped_ != nullptr) dropped_->Add(static_cast<int64_t>(left));
  }
  queue_.clear();
  unacked_queued_ = 0;
  online_.clear();
  return true;
}

void OfflineHandoff::Enqueue(Event event) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queued || stopping_) {
      if (dropped_ != nullptr) dropped_->Add();
      if (std::holds_alternative<Unacked>(event)) --unacked_queued_;
      return;
    }
    queue_.push_back(std::move(event));
    ++enqueued_;
  }
  cv_.notify_all();
}

void OfflineHandoff::OnCommitted(OfflineBatch batch) {
  if (!batch.messages.empty()) Enqueue(std::move(batch));
}

void OfflineHandoff::OnReadMoved(const std::vector<ReadMove>& moves) {
  if (!moves.empty()) Enqueue(moves);
}

void OfflineHandoff::OnPushesUnacked(const std::string& tenant, const std::string& user_id,
                                     const std::string& device_id,
                                     std::vector<MessageRef> messages) {
  if (messages.empty()) return;
  {
    // Reports cost reads per push: a burst of them (a network blip on a
    // gateway) may take a quarter of the queue, never the writer's share.
    std::lock_guard lock(mu_);
    if (unacked_queued_ >= std::max<size_t>(1, options_.max_queued / 4)) {
      if (dropped_ != nullptr) dropped_->Add();
      return;
    }
    ++unacked_queued_;
  }
  Enqueue(Unacked{tenant, user_id, device_id, std::move(messages)});
}

void OfflineHandoff::OnDeviceOnline(const std::string& tenant, const std::string& user_id,
                                    const std::string& device_id) {
  {
    std::lock_guard lock(mu_);
    if (online_.size() >= options_.max_queued * 16 || stopping_) {
      if (dropped_ != nullptr) dropped_->Add();
      return;
    }
    online_.push_back({tenant, user_id, device_id, enqueued_});
  }
  cv_.notify_all();
}

bool OfflineHandoff::WaitIdle(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [this] { return queue_.empty() && online_.empty() && !busy_; });
}

void OfflineHandoff::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !online_.empty(); });
    // Stopping, and everything queued is handled (or its time is up).
    if (DropWhatIsLeftAfterTheDeadline() || (queue_.empty() && online_.empty())) {
      cv_.notify_all();  // WaitIdle
      return;
    }
    // Logins whose earlier events are all handled, then the next event: a
    // login never overtakes a batch queued before it (that batch would
    // coalesce a conversation again after the device came back).
    auto ready = std::find_if(online_.begin(), online_.end(),
                              [this](const DeviceOnline& o) { return o.after > dequeued_; });
    std::vector<DeviceOnline> online(std::make_move_iterator(online_.begin()),
                                     std::make_move_iterator(ready));
    online_.erase(online_.begin(), ready);
    std::optional<Event> event;
    if (!queue_.empty()) {
      event = std::move(queue_.front());
      queue_.pop_front();
      ++dequeued_;
      if (std::holds_alternative<Unacked>(*event)) --unacked_queued_;
    }
    busy_ = true;
    lock.unlock();
    for (const auto& o : online) Handle(o);
    if (event) std::visit([this](auto& e) { Handle(e); }, *event);
    lock.lock();
    busy_ = false;
    cv_.notify_all();  // WaitIdle
  }
}

void OfflineHandoff::Handle(const DeviceOnline& online) {
  if (logins_ != nullptr) logins_->Add();
  auto user = coalesced_.find(UserKey(online.tenant, online.user_id));
  if (user == coalesced_.end()) return;
  auto device = user->second.find(online.device_id);
  if (device == user->second.end()) return;
  coalesced_entries_ -= device->second.size();
  user->second.erase(device);
  if (user->second.empty()) coalesced_.erase(user);
}

// Only the device that did not ack, as if it had no route; the rest as for
// any stored message (coalescing, mute, do-not-disturb, badge).
void OfflineHandoff::Handle(const Unacked& unacked) {
  BatchState state;
  RoutesByUser no_routes;
  std::string key = UserKey(unacked.tenant, unacked.user_id);
  no_routes[key];  // looked up: none
  state.routes = &no_routes;
  state.while_connected = true;
  state.users[unacked.tenant].push_back(unacked.user_id);
  LoadDevices(state);
  auto& devices = state.devices[key];
  std::erase_if(devices, [&](const PushDevice& d) { return d.device_id != unacked.device_id; });
  if (devices.empty()) return;
  auto audience = std::make_shared<const std::vector<std::string>>(1, unacked.user_id);
  for (const MessageRef& ref : unacked.messages) {
    auto stored = deps_.messages.Get(unacked.tenant, ref.conversation_id, ref.seq);
    if (!stored.ok()) {
      spdlog::warn("push: unacked message {}@{} not read: {}", ref.conversation_id, ref.seq,
                   stored.status().ToString());
      continue;
    }
    if (!stored->has_value()) continue;
    OfflineMessage m = ToOfflineMessage(unacked.tenant, **stored);
    m.audience = audience;
    if (m.sender != unacked.user_id) NotifyDevices(m, unacked.user_id, state);
  }
}

void OfflineHandoff::Handle(const std::vector<ReadMove>& moves) {
  for (const auto& move : moves) {
    auto user = coalesced_.find(UserKey(move.tenant, move.user_id));
    if (user == coalesced_.end()) continue;
    for (auto& [device, conversations] : user->second) {
      auto it = conversations.find(move.conversation_id);
      if (it != conversations.end() && move.seq >= it->second.seq) {
        conversations.erase(it);
        --coalesced_entries_;
      }
    }
  }
}

void OfflineHandoff::Remember(const std::string& user_key, const std::string& device,
                              const std::string& conversation, Notified notified) {
  if (coalesced_entries_ >= options_.max_coalesced) {
    coalesced_.clear();
    coalesced_entries_ = 0;
  }
  auto [it, fresh] = coalesced_[user_key][device].insert_or_assign(conversation, notified);
  if (fresh) ++coalesced_entries_;
}

void OfflineHandoff::LoadDevices(BatchState& state) {
  for (const auto& [tenant, users] : state.users) {
    for (size_t first = 0; first < users.size(); first += kUsersPerLookup) {
      std::span<const std::string> chunk(users.data() + first,
                                         std::min(kUsersPerLookup, users.size() - first));
      auto devices = deps_.devices.DevicesOf(tenant, chunk);
      if (!devices.ok()) {
        spdlog::warn("push devices of {} users of {} not read: {}", chunk.size(), tenant,
                     devices.status().ToString());
        continue;
      }
      for (auto& d : *devices) {
        if (!d.disabled) state.devices[UserKey(tenant, d.user_id)].push_back(std::move(d));
      }
    }
  }
}

// Users with push devices whose routes push-server did not look up (large
// groups get no full push, so none were) are looked up here.
void OfflineHandoff::LookupMissingRoutes(BatchState& state, RoutesByUser& routes) {
  for (const auto& [tenant, users] : state.users) {
    std::vector<std::string> missing;
    for (const auto& user : users) {
      std::string key = UserKey(tenant, user);
      if (state.devices.count(key) && !routes.count(key)) missing.push_back(user);
    }
    for (size_t first = 0; first < missing.size(); first += kUsersPerLookup) {
      std::span<const std::string> chunk(missing.data() + first,
                                         std::min(kUsersPerLookup, missing.size() - first));
      std::vector<UserRoute> found;
      if (Status st = deps_.routes.LookupMany(tenant, chunk, found); !st.ok()) {
        // Not knowing whether they are online, they are not notified.
        spdlog::warn("route lookup for the offline hand-off failed: {}", st.ToString());
        for (const auto& user : chunk) routes[UserKey(tenant, user)].push_back({});
        continue;
      }
      for (const auto& user : chunk) routes.try_emplace(UserKey(tenant, user));
      for (auto& [index, route] : found) {
        routes[UserKey(tenant, chunk[index])].push_back(std::move(route));
      }
    }
  }
}

void OfflineHandoff::Handle(OfflineBatch& batch) {
  HandleMessages(batch);
  // Counted once handled: a reader that sees the count sees its tasks.
  if (messages_ != nullptr) messages_->Add(static_cast<int64_t>(batch.messages.size()));
}

void OfflineHandoff::HandleMessages(OfflineBatch& batch) {
  BatchState state;
  state.routes = &batch.routes;
  std::set<std::string> seen;
  for (const auto& m : batch.messages) {
    for (const auto& user : *m.audience) {
      if (user != m.sender && seen.insert(UserKey(m.tenant, user)).second) {
        state.users[m.tenant].push_back(user);
      }
    }
  }
  LoadDevices(state);
  if (state.devices.empty()) return;
  LookupMissingRoutes(state, batch.routes);
  // A device seen online is back: what was coalesced while it was away is
  // forgotten (not what it was notified of while connected).
  for (const auto& [key, routes] : batch.routes) {
    auto user = coalesced_.find(key);
    if (user == coalesced_.end()) continue;
    for (const auto& route : routes) {
      auto device = user->second.find(route.device);
      if (device == user->second.end()) continue;
      coalesced_entries_ -= std::erase_if(
          device->second, [](const auto& entry) { return !entry.second.while_connected; });
    }
  }
  for (const auto& m : batch.messages) {
    for (const auto& user : *m.audience) {
      if (user != m.sender) NotifyDevices(m, user, state);
    }
  }
}

bool OfflineHandoff::Suppressed(const OfflineMessage& m, const std::string& user,
                                BatchState& state) {
  std::string key = UserKey(m.tenant, user);
  auto [it, fresh] = state.preferences.try_emplace(key);
  if (fresh) {
    auto prefs = deps_.devices.Preferences(m.tenant, user);
    if (prefs.ok()) {
      it->second = std::move(prefs).value();
    } else {
      spdlog::warn("push preferences of {}/{} not read: {}", m.tenant, user,
                   prefs.status().ToString());
    }
  }
  // Preferences that cannot be read: better no notification than one the
  // user asked not to get.
  if (!it->second) return true;
  const PushPreferences& prefs = *it->second;
  int64_t now = deps_.clock.NowMs();
  if (auto mute = prefs.muted_until_ms.find(m.conversation_id);
      mute != prefs.muted_until_ms.end() && (mute->second == -1 || mute->second > now)) {
    return true;
  }
  return prefs.dnd && InDoNotDisturb(*prefs.dnd, now);
}

// The user's unread messages over all of their conversations, counted as
// the conversation bootstrap counts them (from the read or join point,
// other senders' messages only).
std::optional<int64_t> OfflineHandoff::Badge(const std::string& tenant, const std::string& user,
                                             BatchState& state) {
  auto [it, fresh] = state.badges.try_emplace(UserKey(tenant, user));
  if (!fresh) return it->second;
  auto conversations = deps_.conversations.ListForUser(tenant, user);
  if (!conversations.ok()) return std::nullopt;
  int64_t total = 0;
  for (const auto& mc : *conversations) {
    int64_t from = std::max(mc.read_seq, mc.joined_seq > 0 ? mc.joined_seq : 0);
    auto unread = deps_.messages.CountAfter(tenant, mc.conversation_id, from,
                                            std::numeric_limits<int64_t>::max(), user);
    if (!unread.ok()) return std::nullopt;
    total += *unread;
  }
  it->second = total;
  return total;
}

void OfflineHandoff::NotifyDevices(const OfflineMessage& m, const std::string& user,
                                   BatchState& state) {
  std::string key = UserKey(m.tenant, user);
  auto devices = state.devices.find(key);
  if (devices == state.devices.end()) return;
  const std::vector<DeviceRoute>& online = (*state.routes)[key];
  for (const PushDevice& d : devices->second) {
    bool is_online = std::any_of(online.begin(), online.end(), [&](const DeviceRoute& r) {
      return r.device == d.device_id || r.device.empty();  // empty: lookup failed
    });
    if (is_online) continue;
    auto user_state = coalesced_.find(key);
    if (user_state != coalesced_.end()) {
      auto device = user_state->second.find(d.device_id);
      if (device != user_state->second.end() && device->second.count(m.conversation_id)) continue;
    }
    if (Suppressed(m, user, state)) return;
    push::v1::PushTask task;
    int64_t now = deps_.clock.NowMs();
    task.set_task_id(MakeUlid(now, random_));
    task.set_tenant(m.tenant);
    task.set_user_id(user);
    task.set_device_id(d.device_id);
    task.set_platform(d.platform);
    task.set_token(d.token);
    task.set_locale(d.locale);
    auto [title, body] = NotificationText(m);
    task.set_title(std::move(title));
    task.set_body(std::move(body));
    if (auto badge = Badge(m.tenant, user, state)) task.set_badge(*badge);
    task.set_collapse_id(m.conversation_id);
    (*task.mutable_data())["conversation_id"] = m.conversation_id;
    (*task.mutable_data())["seq"] = std::to_string(m.seq);
    (*task.mutable_data())["server_msg_id"] = m.server_msg_id;
    task.set_source("offline");
    task.set_conversation_id(m.conversation_id);
    task.set_seq(m.seq);
    task.set_created_ms(now);
    // Coalesced only once queued: a task the producer refused leaves the
    // next message of the conversation free to notify.
    if (Publish(task)) {
      Remember(key, d.device_id, m.conversation_id, {m.seq, state.while_connected});
    }
  }
}

bool OfflineHandoff::Publish(const push::v1::PushTask& task) {
  std::string key = task.tenant() + "/" + task.user_id();
  Counter* failures = publish_failures_;
  Status st = deps_.producer.Publish(
      options_.topic, key, task.SerializeAsString(), [failures, id = task.task_id()](Status done) {
        if (done.ok()) return;
        if (failures != nullptr) failures->Add();
        spdlog::warn("push task {} not stored: {}", id, done.ToString());
      });
  if (!st.ok()) {
    if (publish_failures_ != nullptr) publish_failures_->Add();
    spdlog::warn("push task {} not published: {}", task.task_id(), st.ToString());
    return false;
  }
  if (tasks_ != nullptr) tasks_->Add();
  return true;
}

}  // namespace flare
