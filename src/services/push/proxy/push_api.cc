#include "services/push/proxy/push_api.h"

#include <spdlog/spdlog.h>

#include <set>

namespace flare {

namespace {

namespace pv = ::push::v1;

bool IsKnownPlatform(const std::string& p) {
  return p == "ios" || p == "android" || p == "webhook";
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

size_t DataBytes(const pv::PushRequest& r) {
  size_t bytes = 0;
  for (const auto& [k, v] : r.data()) bytes += k.size() + v.size();
  return bytes;
}

pv::PushTemplate ToProto(const StoredPushTemplate& t) {
  pv::PushTemplate out;
  out.set_name(t.name);
  out.set_title(t.title);
  out.set_body(t.body);
  out.set_updated_ms(t.updated_ms);
  return out;
}

}  // namespace

Status BusPushTaskSink::Publish(std::span<const pv::PushTask> tasks) {
  // Counts the records whose outcome is still open; the first failure wins.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t open = 0;
    Status failure;
  };
  auto pending = std::make_shared<Pending>();
  for (const auto& task : tasks) {
    {
      std::lock_guard lock(pending->mu);
      ++pending->open;
    }
    Status queued = producer_.Publish(topic_, task.tenant() + '/' + task.user_id(),
                                      task.SerializeAsString(), [pending](Status st) {
                                        std::lock_guard lock(pending->mu);
                                        if (!st.ok() && pending->failure.ok())
                                          pending->failure = st;
                                        if (--pending->open == 0) pending->cv.notify_all();
                                      });
    if (!queued.ok()) {
      std::lock_guard lock(pending->mu);
      --pending->open;
      if (pending->failure.ok()) pending->failure = queued;
      break;
    }
  }
  std::unique_lock lock(pending->mu);
  if (!pending->cv.wait_for(lock, std::chrono::milliseconds(kTimeoutMs),
                            [&] { return pending->open == 0; })) {
    return Unavailable("push tasks not confirmed by the bus within " + std::to_string(kTimeoutMs) +
                       " ms");
  }
  return pending->failure;
}

Result<std::string> RenderPushTemplate(std::string_view text,
                                       const std::map<std::string, std::string>& variables) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return InvalidArgument("template: a {{ at byte " + std::to_string(open) + " is not closed");
    }
    out.append(text.substr(pos, open - pos));
    std::string name(Trimmed(text.substr(open + 2, close - open - 2)));
    auto it = variables.find(name);
    if (it == variables.end()) {
      return InvalidArgument("template: variable '" + name + "' has no value");
    }
    out.append(it->second);
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

PushApi::PushApi(DeviceStore& devices, PushScheduleStore& store, PushTaskSink& sink,
                 const Clock& clock, PushStatsSource* stats, PushApiLimits limits)
    : devices_(devices),
      store_(store),
      sink_(sink),
      clock_(clock),
      stats_(stats),
      limits_(limits) {}

std::string PushApi::NewId() {
  std::lock_guard lock(random_mu_);
  return MakeUlid(clock_.NowMs(), random_);
}

Status PushApi::Check(const std::string& tenant, const pv::PushRequest& r) const {
  if (!IsValidId(tenant)) return InvalidArgument("invalid tenant");
  size_t targets = static_cast<size_t>(r.user_ids_size() + r.devices_size());
  if (targets == 0) return InvalidArgument("a push needs user_ids or devices");
  if (targets > limits_.max_targets) {
    return InvalidArgument("at most " + std::to_string(limits_.max_targets) +
                           " users and devices per push");
  }
  for (const auto& user : r.user_ids()) {
    if (!IsValidId(user)) return InvalidArgument("invalid user id '" + user + "'");
  }
  for (const auto& d : r.devices()) {
    if (!IsValidId(d.user_id()) || !IsValidId(d.device_id())) {
      return InvalidArgument("a device needs a valid user_id and device_id");
    }
  }
  if (r.template_name().empty() && r.title().empty() && r.body().empty()) {
    return InvalidArgument("a push needs a title, a body or a template_name");
  }
  if (!r.template_name().empty() && (!r.title().empty() || !r.body().empty())) {
    return InvalidArgument("give either template_name or title/body, not both");
  }
  if (r.title().size() > limits_.max_title_bytes || r.body().size() > limits_.max_body_bytes) {
    return InvalidArgument("title or body too long");
  }
  if (static_cast<size_t>(r.data_size()) > limits_.max_data_entries ||
      DataBytes(r) > limits_.max_data_bytes) {
    return InvalidArgument("too much data");
  }
  if (r.send_at_ms() > clock_.NowMs() + limits_.max_schedule_ahead_ms) {
    return InvalidArgument("send_at_ms is too far ahead");
  }
  return Status::Ok();
}

Result<pv::PushRequest> PushApi::Rendered(const std::string& tenant, const pv::PushRequest& r) {
  pv::PushRequest out = r;
  if (r.template_name().empty()) return out;
  auto t = store_.GetTemplate(tenant, r.template_name());
  if (!t.ok()) return t.status();
  if (!*t) return NotFound("no template '" + r.template_name() + "'");
  std::map<std::string, std::string> vars(r.variables().begin(), r.variables().end());
  auto title = RenderPushTemplate((*t)->title, vars);
  if (!title.ok()) return title.status();
  auto body = RenderPushTemplate((*t)->body, vars);
  if (!body.ok()) return body.status();
  if (title->size() > limits_.max_title_bytes || body->size() > limits_.max_body_bytes) {
    return InvalidArgument("the rendered title or body is too long");
  }
  out.set_title(std::move(*title));
  out.set_body(std::move(*body));
  out.clear_template_name();
  out.clear_variables();
  return out;
}

Result<pv::PushResponse> PushApi::Push(const std::string& tenant, const pv::PushRequest& request) {
  FLARE_RETURN_IF_ERROR(Check(tenant, request));
  // Rendered now, so a scheduled push says what it said when it was asked.
  auto r = Rendered(tenant, request);
  if (!r.ok()) return r.status();
  std::string push_id = NewId();
  int64_t now = clock_.NowMs();
  if (r->send_at_ms() <= now) return Send(tenant, *r, push_id);
  StoredScheduledPush scheduled{push_id, tenant, r->send_at_ms(), r->SerializeAsString(), now};
  FLARE_RETURN_IF_ERROR(store_.AddScheduled(scheduled));
  pv::PushResponse response;
  response.set_push_id(push_id);
  response.set_scheduled(true);
  return response;
}

Result<std::vector<PushDevice>> PushApi::Targets(const std::string& tenant,
                                                 const pv::PushRequest& r,
                                                 std::vector<std::string>& users_without_devices) {
  std::set<std::string> users(r.user_ids().begin(), r.user_ids().end());
  std::set<std::pair<std::string, std::string>> named;
  for (const auto& d : r.devices()) named.emplace(d.user_id(), d.device_id());
  std::set<std::string> all = users;
  for (const auto& [user, device] : named) all.insert(user);
  std::vector<std::string> asked(all.begin(), all.end());
  auto found = devices_.DevicesOf(tenant, asked);
  if (!found.ok()) return found.status();
  std::vector<PushDevice> targets;
  std::set<std::string> reached;
  for (auto& d : *found) {
    bool wanted = users.count(d.user_id) > 0 || named.count({d.user_id, d.device_id}) > 0;
    if (!wanted || d.disabled) continue;
    reached.insert(d.user_id);
    targets.push_back(std::move(d));
  }
  for (const auto& user : asked) {
    if (reached.count(user) == 0) users_without_devices.push_back(user);
  }
  return targets;
}

Result<pv::PushResponse> PushApi::Send(const std::string& tenant, const pv::PushRequest& r,
                                       const std::string& push_id) {
  pv::PushResponse response;
  response.set_push_id(push_id);
  std::vector<std::string> without;
  auto targets = Targets(tenant, r, without);
  if (!targets.ok()) return targets.status();
  for (auto& user : without) response.add_users_without_devices(std::move(user));
  int64_t now = clock_.NowMs();
  std::vector<pv::PushTask> tasks;
  tasks.reserve(targets->size());
  for (const PushDevice& d : *targets) {
    pv::PushTask& task = tasks.emplace_back();
    task.set_task_id(NewId());
    task.set_tenant(tenant);
    task.set_user_id(d.user_id);
    task.set_device_id(d.device_id);
    task.set_platform(d.platform);
    task.set_token(d.token);
    task.set_locale(d.locale);
    task.set_title(r.title());
    task.set_body(r.body());
    if (r.has_badge()) task.set_badge(r.badge());
    task.set_collapse_id(r.collapse_id());
    *task.mutable_data() = r.data();
    (*task.mutable_data())["push_id"] = push_id;
    task.set_source("api");
    task.set_created_ms(now);
  }
  if (!tasks.empty()) FLARE_RETURN_IF_ERROR(sink_.Publish(tasks));
  response.set_tasks(static_cast<int32_t>(tasks.size()));
  return response;
}

Status PushApi::CancelScheduled(const std::string& tenant, const std::string& push_id) {
  return store_.RemoveScheduled(tenant, push_id);
}

Result<std::vector<pv::ScheduledPush>> PushApi::ListScheduled(const std::string& tenant) {
  auto rows = store_.ListScheduled(tenant);
  if (!rows.ok()) return rows.status();
  std::vector<pv::ScheduledPush> out;
  for (const auto& row : *rows) {
    pv::ScheduledPush& p = out.emplace_back();
    p.set_push_id(row.push_id);
    p.set_send_at_ms(row.send_at_ms);
    p.set_created_ms(row.created_ms);
    if (!p.mutable_request()->ParseFromString(row.request)) {
      return Internal("scheduled push " + row.push_id + " is unreadable");
    }
  }
  return out;
}

Result<size_t> PushApi::FireDue(size_t limit) {
  // A push the bus did not take goes back this far ahead, behind the
  // others due now, and the round ends: with the bus down, one round
  // waits for one push, not for all of them.
  constexpr int64_t kRetryDelayMs = 30'000;
  auto due = store_.Due(clock_.NowMs(), limit);
  if (!due.ok()) return due.status();
  size_t fired = 0;
  for (const auto& row : *due) {
    Status claimed = store_.RemoveScheduled(row.tenant, row.push_id);
    if (claimed.code() == Code::kNotFound) continue;  // another instance took it
    FLARE_RETURN_IF_ERROR(claimed);
    pv::PushRequest r;
    if (!r.ParseFromString(row.request)) {
      spdlog::error("scheduled push {} of {} is unreadable; dropped", row.push_id, row.tenant);
      continue;
    }
    if (auto sent = Send(row.tenant, r, row.push_id); !sent.ok()) {
      // Some of its tasks may have been stored: a later round can notify
      // a device twice, never lose the push.
      spdlog::warn("scheduled push {} of {}: {}; tried again in {} s", row.push_id, row.tenant,
                   sent.status().ToString(), kRetryDelayMs / 1000);
      StoredScheduledPush again = row;
      again.send_at_ms = clock_.NowMs() + kRetryDelayMs;
      if (Status st = store_.AddScheduled(again); !st.ok()) {
        spdlog::error("scheduled push {} of {} could not be put back, so it is lost: {}",
                      row.push_id, row.tenant, st.ToString());
      }
      break;
    }
    ++fired;
  }
  return fired;
}

Status PushApi::PutTemplate(const std::string& tenant, const pv::PushTemplate& t) {
  if (!IsValidId(tenant)) return InvalidArgument("invalid tenant");
  if (!IsValidId(t.name())) return InvalidArgument("a template needs a name of [A-Za-z0-9_.@-]");
  if (t.title().empty() && t.body().empty()) return InvalidArgument("an empty template");
  if (t.title().size() > limits_.max_title_bytes || t.body().size() > limits_.max_body_bytes) {
    return InvalidArgument("template title or body too long");
  }
  // Placeholders must be well formed; their values come with each push.
  for (const std::string* text : {&t.title(), &t.body()}) {
    for (size_t open = text->find("{{"); open != std::string::npos;
         open = text->find("{{", open + 2)) {
      if (text->find("}}", open + 2) == std::string::npos) {
        return InvalidArgument("template: a {{ is not closed");
      }
    }
  }
  auto existing = store_.ListTemplates(tenant);
  if (!existing.ok()) return existing.status();
  bool replaces = false;
  for (const auto& e : *existing) replaces = replaces || e.name == t.name();
  if (!replaces && existing->size() >= limits_.max_templates) {
    return {Code::kResourceExhausted, "too many templates"};
  }
  return store_.PutTemplate({tenant, t.name(), t.title(), t.body(), clock_.NowMs()});
}

Status PushApi::DeleteTemplate(const std::string& tenant, const std::string& name) {
  return store_.DeleteTemplate(tenant, name);
}

Result<std::vector<pv::PushTemplate>> PushApi::ListTemplates(const std::string& tenant) {
  auto rows = store_.ListTemplates(tenant);
  if (!rows.ok()) return rows.status();
  std::vector<pv::PushTemplate> out;
  for (const auto& row : *rows) out.push_back(ToProto(row));
  return out;
}

Status PushApi::RegisterDevice(const std::string& tenant, const pv::RegisterDeviceRequest& r) {
  if (!IsValidId(tenant) || !IsValidId(r.user_id()) || !IsValidId(r.device_id())) {
    return InvalidArgument("a device needs a valid tenant, user_id and device_id");
  }
  if (!IsKnownPlatform(r.platform())) {
    return InvalidArgument("platform must be ios, android or webhook");
  }
  if (r.token().empty() || r.token().size() > 4096) return InvalidArgument("invalid token");
  PushDevice d;
  d.tenant = tenant;
  d.user_id = r.user_id();
  d.device_id = r.device_id();
  d.platform = r.platform();
  d.token = r.token();
  d.locale = r.locale();
  d.updated_ms = clock_.NowMs();
  return devices_.Register(d);
}

Status PushApi::UnregisterDevice(const std::string& tenant, const pv::UnregisterDeviceRequest& r) {
  return devices_.Unregister(tenant, r.user_id(), r.device_id());
}

Result<pv::PushStats> PushApi::Stats(const std::string& tenant) {
  if (stats_ == nullptr) return Unavailable("push-worker statistics are not available here");
  return stats_->StatsOf(tenant);
}

PushScheduleLoop::PushScheduleLoop(PushApi& api, int64_t interval_ms)
    : api_(api), interval_ms_(interval_ms), thread_([this] { Run(); }) {}

PushScheduleLoop::~PushScheduleLoop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PushScheduleLoop::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    if (auto fired = api_.FireDue(); !fired.ok()) {
      spdlog::warn("scheduled pushes: {}", fired.status().ToString());
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
  }
}

}  // namespace flare
