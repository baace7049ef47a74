#include "services/hooks/hook_settings.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "services/hooks/hook_list_codec.h"

namespace flare {

HookSettings::HookSettings(SettingsStore& store, HookEngine& engine, const Clock& clock,
                           HookSettingsOptions options)
    : store_(store), engine_(engine), clock_(clock), options_(std::move(options)) {}

HookSettings::~HookSettings() { Stop(); }

Status HookSettings::Load() {
  std::lock_guard lock(mu_);
  next_poll_ms_ = clock_.MonotonicMs() + options_.reload_interval_ms;
  return Refresh();
}

Status HookSettings::Poll() {
  std::lock_guard lock(mu_);
  int64_t now = clock_.MonotonicMs();
  if (now < next_poll_ms_) return Status::Ok();
  next_poll_ms_ = now + options_.reload_interval_ms;
  return Refresh();
}

Status HookSettings::Refresh() {
  auto document = store_.Get(options_.key);
  if (!document.ok()) {
    last_error_ = document.status();
    return last_error_;
  }
  if (document->version == 0 || document->version == applied_version_) return Status::Ok();
  if (document->version == failed_version_) return last_error_;
  Status applied;
  auto hooks = DecodeHookList(document->value);
  applied = hooks.ok() ? engine_.Configure(*hooks) : hooks.status();
  if (!applied.ok()) {
    failed_version_ = document->version;
    last_error_ =
        Status(applied.code(), "stored hook list version " + std::to_string(document->version) +
                                   " not applied: " + applied.message());
    return last_error_;
  }
  spdlog::info("hooks: applied the stored hook list version {} ({} hooks)", document->version,
               hooks->size());
  applied_version_ = document->version;
  failed_version_ = 0;
  last_error_ = Status::Ok();
  return Status::Ok();
}

Result<std::vector<HookConfig>> HookSettings::ListOf(const VersionedDocument& document) const {
  if (document.version == 0) return engine_.Hooks();
  auto hooks = DecodeHookList(document.value);
  if (hooks.ok()) return hooks;
  // A list that does not decode is replaced by what runs here, so that a
  // save through the admin API repairs it.
  spdlog::warn("hooks: stored hook list version {} does not decode ({}); saving over it",
               document.version, hooks.status().ToString());
  return engine_.Hooks();
}

Status HookSettings::Save(const Edit& edit) {
  std::lock_guard lock(mu_);
  for (int attempt = 0; attempt < options_.max_save_attempts; ++attempt) {
    auto document = store_.Get(options_.key);
    if (!document.ok()) return document.status();
    auto base = ListOf(*document);
    if (!base.ok()) return base.status();
    auto updated = edit(std::move(base).value());
    if (!updated.ok()) return updated.status();
    FLARE_RETURN_IF_ERROR(ValidateHooks(*updated));
    auto saved = store_.Put(options_.key, document->version, EncodeHookList(*updated));
    if (saved.status().code() == Code::kAborted) continue;  // another process saved first
    if (!saved.ok()) return saved.status();
    FLARE_RETURN_IF_ERROR(engine_.Configure(*updated));
    applied_version_ = *saved;
    failed_version_ = 0;
    last_error_ = Status::Ok();
    return Status::Ok();
  }
  return Aborted("hook list: other processes kept saving first; gave up after " +
                 std::to_string(options_.max_save_attempts) + " attempts");
}

Result<bool> HookSettings::PutHook(const HookConfig& hook) {
  bool replaced = false;
  Status st = Save([&](std::vector<HookConfig> hooks) -> Result<std::vector<HookConfig>> {
    auto same = std::find_if(hooks.begin(), hooks.end(),
                             [&](const HookConfig& h) { return h.name == hook.name; });
    replaced = same != hooks.end();
    if (replaced) {
      *same = hook;
    } else {
      hooks.push_back(hook);
    }
    return hooks;
  });
  if (!st.ok()) return st;
  return replaced;
}

Status HookSettings::DeleteHook(const std::string& name) {
  return Save([&](std::vector<HookConfig> hooks) -> Result<std::vector<HookConfig>> {
    auto same = std::find_if(hooks.begin(), hooks.end(),
                             [&](const HookConfig& h) { return h.name == name; });
    if (same == hooks.end()) return NotFound("no hook named '" + name + "'");
    hooks.erase(same);
    return hooks;
  });
}

int64_t HookSettings::applied_version() const {
  std::lock_guard lock(mu_);
  return applied_version_;
}

Status HookSettings::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void HookSettings::Start() {
  std::lock_guard lock(loop_mu_);
  if (loop_.joinable() || stopping_) return;
  loop_ = std::thread([this] { Run(); });
}

void HookSettings::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void HookSettings::Run() {
  std::string logged;  // the last error logged, so a lasting one is logged once
  std::unique_lock lock(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.reload_interval_ms),
                      [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status st = Poll();
    if (!st.ok() && st.ToString() != logged) spdlog::warn("hooks: {}", st.ToString());
    logged = st.ok() ? "" : st.ToString();
    lock.lock();
  }
}

}  // namespace flare
