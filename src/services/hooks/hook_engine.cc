#include "services/hooks/hook_engine.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace flare {

namespace pb = ::flare::client::v1;

namespace {

// "single" -> CONVERSATION_TYPE_SINGLE's number, "text" -> MESSAGE_TYPE_TEXT's.
template <typename Parse>
std::vector<int> EnumValues(const std::vector<std::string>& names, const std::string& prefix,
                            Parse parse) {
  std::vector<int> out;
  for (const auto& name : names) {
    std::string full = prefix;
    for (char c : name) full += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    int value = 0;
    if (parse(full, &value)) out.push_back(value);
  }
  return out;
}

// What counts against the message size limit (as the orchestrator counts it).
size_t MessageBytes(const Message& m) {
  size_t size = m.content().ByteSizeLong() + m.quote().ByteSizeLong();
  for (const auto& a : m.attachments()) size += a.ByteSizeLong();
  for (const auto& [k, v] : m.attributes()) size += k.size() + v.size();
  return size;
}

bool Allows(const std::vector<int>& allowed, int value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// An inconsistency between the hook's wait and the call's end would let a
// slow hook hold the send forever: every call gets the hook's timeout.
HookTransport::Deadline DeadlineIn(int64_t ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

struct HookEngine::Hook {
  HookConfig config;
  HookTarget target;
  std::vector<int> conversation_types, message_types;
  std::shared_ptr<HookStats> stats;
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> last_warned_ms{INT64_MIN / 2};

  // At most one warning a second per hook: a hook that is down under load
  // fails every call, and the metrics count them all.
  bool ShouldWarn(int64_t now_ms) {
    int64_t last = last_warned_ms.load(std::memory_order_relaxed);
    return now_ms - last >= 1'000 && last_warned_ms.compare_exchange_strong(last, now_ms);
  }

  bool Selects(const std::string& point, const std::string& tenant, const Message& m) const {
    if (config.point != point) return false;
    if (!config.tenants.empty() &&
        std::find(config.tenants.begin(), config.tenants.end(), tenant) == config.tenants.end()) {
      return false;
    }
    // A message operation names no conversation type (0): only the send
    // points and stored events carry one. Message types: the send points'.
    bool send_point = point == "pre_send" || point == "post_send";
    return (m.conversation_type() == 0 || Allows(conversation_types, m.conversation_type())) &&
           (!send_point || Allows(message_types, m.type()));
  }
  // Takes a call slot; false when max_concurrency calls are in flight.
  bool TryEnter() {
    if (in_flight.fetch_add(1) < config.max_concurrency) return true;
    in_flight.fetch_sub(1);
    return false;
  }
  void Record(const HookCallResult& r, int64_t elapsed_ms) {
    in_flight.fetch_sub(1);
    stats->latency.ObserveMs(static_cast<double>(elapsed_ms));
    if (r.status.ok()) return;
    stats->failures.Add();
    if (r.timed_out) stats->timeouts.Add();
  }
};

struct HookEngine::Delivery {
  std::shared_ptr<Hook> hook;
  HookRequest request;
  std::string last_error;
};

HookEngine::HookEngine(HookTransport& transport, HookDeadLetters& dead_letters, const Clock& clock,
                       Metrics* metrics, HookEngineOptions options)
    : transport_(transport),
      dead_letters_(dead_letters),
      clock_(clock),
      options_(options),
      stats_(metrics),
      hooks_(std::make_shared<const HookList>()) {}

HookEngine::~HookEngine() { Stop(); }

Status HookEngine::Configure(const std::vector<HookConfig>& hooks) {
  std::lock_guard configuring(configure_mu_);
  return ConfigureLocked(hooks);
}

std::vector<HookConfig> HookEngine::Hooks() const {
  std::vector<HookConfig> out;
  for (const auto& hook : *Snapshot()) out.push_back(hook->config);
  return out;
}

Status HookEngine::ConfigureLocked(const std::vector<HookConfig>& hooks) {
  FLARE_RETURN_IF_ERROR(ValidateHooks(hooks));
  auto list = std::make_shared<HookList>();
  for (const auto& config : hooks) {
    auto hook = std::make_shared<Hook>();
    hook->config = config;
    hook->target = {config.name, config.url, config.secret};
    hook->conversation_types = EnumValues(config.conversation_types, "CONVERSATION_TYPE_",
                                          [](const std::string& n, int* v) {
                                            pb::ConversationType t;
                                            bool ok = pb::ConversationType_Parse(n, &t);
                                            *v = t;
                                            return ok;
                                          });
    hook->message_types =
        EnumValues(config.message_types, "MESSAGE_TYPE_", [](const std::string& n, int* v) {
          pb::MessageType t;
          bool ok = pb::MessageType_Parse(n, &t);
          *v = t;
          return ok;
        });
    hook->stats = stats_.For(config.name);
    list->push_back(std::move(hook));
  }
  // Stable: hooks of equal priority run in the order they are listed.
  std::stable_sort(list->begin(), list->end(), [](const auto& a, const auto& b) {
    return a->config.priority < b->config.priority;
  });
  bool any_pre =
      std::any_of(list->begin(), list->end(), [](const auto& h) { return h->config.is_pre(); });
  bool any_post =
      std::any_of(list->begin(), list->end(), [](const auto& h) { return !h->config.is_pre(); });
  for (const auto& hook : *list) {
    spdlog::info("hook '{}': {} -> {} (priority {}, timeout {} ms, {})", hook->config.name,
                 hook->config.point, hook->config.url, hook->config.priority,
                 hook->config.timeout_ms, hook->config.failure_policy);
  }
  std::lock_guard lock(hooks_mu_);
  hooks_ = std::move(list);
  any_pre_ = any_pre;
  any_post_ = any_post;
  return Status::Ok();
}

std::shared_ptr<const HookEngine::HookList> HookEngine::Snapshot() const {
  std::lock_guard lock(hooks_mu_);
  return hooks_;
}

HookEngine::HookList HookEngine::Select(const std::string& point, const std::string& tenant,
                                        const Message& message) const {
  HookList out;
  for (const auto& hook : *Snapshot()) {
    if (hook->Selects(point, tenant, message)) out.push_back(hook);
  }
  return out;
}

bool HookEngine::SelectsPre(const std::string& point, const std::string& tenant,
                            const Message& message) const {
  if (!any_pre_.load(std::memory_order_relaxed)) return false;
  for (const auto& hook : *Snapshot()) {
    if (hook->Selects(point, tenant, message)) return true;
  }
  return false;
}

// One send going through its pre-send hooks, one hook at a time.
class HookEngine::PreSendRun : public std::enable_shared_from_this<PreSendRun> {
 public:
  PreSendRun(HookEngine& engine, HookList hooks, std::string point, std::string action,
             std::string tenant, Message message, PreSendDone done, HookUser user)
      : engine_(engine),
        user_(std::move(user)),
        hooks_(std::move(hooks)),
        point_(std::move(point)),
        action_(std::move(action)),
        tenant_(std::move(tenant)),
        done_(std::move(done)) {
    verdict_.message = std::move(message);
  }

  void Next() {
    if (index_ == hooks_.size()) return Finish();
    const auto& hook = hooks_[index_];
    if (!hook->TryEnter()) {
      hook->stats->failures.Add();  // a refused call counts as failed
      return OnFailure(*hook, "hook '" + hook->config.name + "' is at max_concurrency");
    }
    hook->stats->calls.Add();
    if (engine_.options_.max_message_bytes > 0) original_ = verdict_.message;
    HookRequest request{point_, hook->config.name, verdict_.message.client_msg_id(), tenant_,
                        1,      verdict_.message};
    request.action = action_;
    if (!user_.user_id.empty()) {
      request.event_id = user_.event_id;
      request.user_id = user_.user_id;
      request.device = user_.device;
      request.platform = user_.platform;
    }
    int64_t started = engine_.clock_.MonotonicMs();
    engine_.transport_.Call(hook->target, std::move(request), DeadlineIn(hook->config.timeout_ms),
                            [self = shared_from_this(), started](HookCallResult r) {
                              self->OnAnswer(std::move(r), started);
                            });
  }

 private:
  void OnAnswer(HookCallResult r, int64_t started) {
    Hook& hook = *hooks_[index_];
    hook.Record(r, engine_.clock_.MonotonicMs() - started);
    if (!r.status.ok()) return OnFailure(hook, r.status.message());
    if (r.response.verdict == HookResponse::Verdict::kReject) {
      hook.stats->rejections.Add();
      // detail 21 = ERROR_CODE_REJECTED_BY_HOOK on the client protocol.
      verdict_.status =
          Status(Code::kPermissionDenied,
                 r.response.reason.empty() ? "rejected by " + hook.config.name : r.response.reason)
              .WithDetail(pb::ERROR_CODE_REJECTED_BY_HOOK);
      verdict_.hook_code = r.response.code;
      return Finish();
    }
    // Only a send's hooks rewrite; an operation's hooks allow or reject.
    if (point_ != "pre_send") {
      ++index_;
      return Next();
    }
    if (r.response.content) *verdict_.message.mutable_content() = std::move(*r.response.content);
    if (r.response.attributes) {
      auto* attributes = verdict_.message.mutable_attributes();
      attributes->clear();
      for (auto& [k, v] : *r.response.attributes) (*attributes)[k] = std::move(v);
    }
    size_t limit = engine_.options_.max_message_bytes;
    if ((r.response.content || r.response.attributes) && limit > 0 &&
        MessageBytes(verdict_.message) > limit) {
      verdict_.message = std::move(original_);  // the failed hook's rewrite is not kept
      hook.stats->failures.Add();
      return OnFailure(hook, "hook '" + hook.config.name + "' rewrote the message past " +
                                 std::to_string(limit) + " bytes");
    }
    ++index_;
    Next();
  }

  void OnFailure(Hook& hook, const std::string& why) {
    // The sender learns only that a hook failed; the operator gets why.
    bool closed = hook.config.fail_closed();
    if (hook.ShouldWarn(engine_.clock_.MonotonicMs())) {
      spdlog::warn("{} hook '{}' failed, {} {}: {}", point_, hook.config.name,
                   point_ == "pre_send" ? "send" : "action",
                   closed ? "refused (fail_closed)" : "goes on (fail_open)", why);
    }
    if (closed) {
      verdict_.status = Unavailable("message hook unavailable; retry");
      return Finish();
    }
    ++index_;
    Next();
  }

  void Finish() { done_(std::move(verdict_)); }

  HookEngine& engine_;
  HookUser user_;
  HookList hooks_;
  size_t index_ = 0;
  std::string point_;
  std::string action_;
  std::string tenant_;
  PreSendDone done_;
  PreSendVerdict verdict_;
  Message original_;  // before the current hook's rewrite (when a size limit is set)
};

void HookEngine::RunPre(const std::string& point, const std::string& action,
                        const std::string& tenant, Message message, PreSendDone done,
                        const HookUser& user) {
  HookList hooks = Select(point, tenant, message);
  if (hooks.empty()) {
    done(PreSendVerdict{Status::Ok(), 0, std::move(message)});
    return;
  }
  std::make_shared<PreSendRun>(*this, std::move(hooks), point, action, tenant, std::move(message),
                               std::move(done), user)
      ->Next();
}

void HookEngine::Post(const std::string& point, const std::string& action,
                      const std::string& tenant, const Message& message, const std::string& user_id,
                      const std::string& event_key) {
  if (!any_post_.load(std::memory_order_relaxed)) return;
  HookList hooks = Select(point, tenant, message);
  if (hooks.empty()) return;
  int64_t now = clock_.MonotonicMs();
  std::lock_guard lock(queue_mu_);
  for (auto& hook : hooks) {
    if (stopping_ || queue_.size() >= options_.max_queued_deliveries) {
      hook->stats->dropped.Add();
      continue;
    }
    // The event id is the same for every attempt: receivers deduplicate by it.
    const std::string& key = event_key.empty() ? message.server_msg_id() : event_key;
    HookRequest request{point,  hook->config.name, key + ":" + hook->config.name, tenant, 1,
                        message};
    request.action = action;
    request.user_id = user_id;
    queue_.emplace(now, Delivery{hook, std::move(request), ""});
  }
  queue_cv_.notify_one();
}

void HookEngine::Pump() {
  std::vector<Delivery> due;
  {
    std::lock_guard lock(queue_mu_);
    int64_t now = clock_.MonotonicMs();
    for (auto it = queue_.begin(); it != queue_.end() && it->first <= now;) {
      // A post-* delivery over its hook's max_concurrency waits its turn:
      // it is asynchronous, so waiting costs no sender anything.
      if (it->second.hook->TryEnter()) {
        due.push_back(std::move(it->second));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : due) Deliver(std::move(d));
}

void HookEngine::Deliver(Delivery delivery) {
  const Hook& hook = *delivery.hook;
  hook.stats->calls.Add();
  int64_t started = clock_.MonotonicMs();
  auto target = hook.target;
  auto request = delivery.request;
  auto deadline = DeadlineIn(hook.config.timeout_ms);
  transport_.Call(target, std::move(request), deadline,
                  [this, d = std::move(delivery), started](HookCallResult r) mutable {
                    OnDelivered(std::move(d), r, started);
                  });
}

void HookEngine::OnDelivered(Delivery delivery, const HookCallResult& result, int64_t started_ms) {
  Hook& hook = *delivery.hook;
  int64_t now = clock_.MonotonicMs();
  hook.Record(result, now - started_ms);
  if (result.status.ok()) return;
  delivery.last_error = result.status.message();
  if (delivery.request.attempt >= hook.config.max_attempts) return DeadLetter(delivery);
  // Exponential backoff: backoff_ms after the first failure, then doubled (capped at 1 h).
  int shift = std::min(delivery.request.attempt - 1, 20);
  int64_t wait = std::min<int64_t>(hook.config.backoff_ms << shift, 3'600'000);
  ++delivery.request.attempt;
  std::lock_guard lock(queue_mu_);
  if (stopping_) {
    DeadLetter(delivery);
    return;
  }
  queue_.emplace(now + wait, std::move(delivery));
  queue_cv_.notify_one();
}

void HookEngine::DeadLetter(const Delivery& delivery) {
  HookDeadLetter letter;
  letter.hook = delivery.hook->config.name;
  letter.point = delivery.request.point;
  letter.event_id = delivery.request.event_id;
  letter.tenant = delivery.request.tenant;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(delivery.request.message, &letter.payload,
                                                    options);
  letter.attempts = delivery.request.attempt;
  letter.last_error = delivery.last_error;
  letter.failed_at_ms = clock_.NowMs();
  if (Status st = dead_letters_.Add(letter); !st.ok()) {
    spdlog::error("hook '{}': dead letter {} lost: {}", letter.hook, letter.event_id,
                  st.ToString());
  }
  // Counted once recorded, so the count never runs ahead of the letters.
  delivery.hook->stats->dead_letters.Add();
}

void HookEngine::Start() {
  pump_ = std::thread([this] { RunPump(); });
}

void HookEngine::RunPump() {
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    queue_cv_.wait_for(lock, std::chrono::milliseconds(options_.pump_interval_ms));
    if (stopping_) break;
    lock.unlock();
    Pump();
    lock.lock();
  }
}

void HookEngine::Stop() {
  std::multimap<int64_t, Delivery> left;
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
    queue_cv_.notify_all();
  }
  if (pump_.joinable()) pump_.join();
  for (auto& [due, delivery] : left) {
    if (delivery.last_error.empty()) delivery.last_error = "server stopped before delivery";
    DeadLetter(delivery);
  }
}

size_t HookEngine::QueuedDeliveries() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

}  // namespace flare
